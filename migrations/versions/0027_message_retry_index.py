"""an index for a post's retry check (the author's earlier post of the same client id)

Issue #13. Every post with a client id (the browser sends one with each) asks whether its
author posted that client id in the room already, in the same statement that takes the
room's next position (workspace/services/messages.py `next_position`). Without an index
that was a scan of the room's messages, growing with the conversation.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_message_room_author_client", "message", ["room_id", "author_id", "client_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_message_room_author_client", table_name="message")
