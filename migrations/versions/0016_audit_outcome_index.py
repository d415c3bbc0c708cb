"""audit outcome index: the access log's "denied only" pages by keyset, however rare denials are

Without it, `outcome = 'denied' ORDER BY seq DESC LIMIT n` walks the primary key backwards
and reads every allowed event on the way; with (outcome, seq) it reads the page.
Created in place (not through a batch copy), so the append-only triggers stay.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_outcome_seq", "audit_event", ["outcome", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_outcome_seq", table_name="audit_event")
