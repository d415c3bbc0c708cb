"""chat: message order per room, read markers, mentions, full-text search

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room") as batch:
        batch.add_column(sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    # Number what is there already, per room, in the order it was written.
    op.execute(
        """
        UPDATE message SET seq = (
          SELECT COUNT(*) FROM message AS earlier
          WHERE earlier.room_id = message.room_id
            AND (earlier.created_at < message.created_at
                 OR (earlier.created_at = message.created_at AND earlier.id <= message.id))
        )
        """
    )
    op.execute(
        "UPDATE room SET last_seq = (SELECT COALESCE(MAX(seq), 0) FROM message "
        "WHERE message.room_id = room.id)"
    )
    with op.batch_alter_table("message") as batch:
        batch.create_unique_constraint("uq_message_room_seq", ["room_id", "seq"])

    op.create_table(
        "read_marker",
        sa.Column("room_id", sa.String(36), sa.ForeignKey("room.id"), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("last_read_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mention",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("message.id"), nullable=False),
        sa.Column("room_id", sa.String(36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mention_message_id", "mention", ["message_id"])
    op.create_index("ix_mention_user_id", "mention", ["user_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # An external-content FTS5 index over message bodies, kept by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE message_fts USING fts5("
            "body, content='message', content_rowid='rowid', tokenize='porter unicode61')"
        )
        op.execute("INSERT INTO message_fts(rowid, body) SELECT rowid, body FROM message")
        op.execute(
            "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
            "INSERT INTO message_fts(rowid, body) VALUES (new.rowid, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN "
            "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.rowid, old.body); "
            "INSERT INTO message_fts(rowid, body) VALUES (new.rowid, new.body); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_message_body_fts ON message "
            "USING gin (to_tsvector('english', body))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS message_fts_update")
        op.execute("DROP TRIGGER IF EXISTS message_fts_insert")
        op.execute("DROP TABLE IF EXISTS message_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_body_fts")
    op.drop_table("mention")
    op.drop_table("read_marker")
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint("uq_message_room_seq", type_="unique")
        batch.drop_column("seq")
    with op.batch_alter_table("room") as batch:
        batch.drop_column("last_seq")
