"""mail: a durable outbox (claims, retries, dead letters), email preferences, muted rooms,
and a log of reminders already sent

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("outboxemail") as batch:
        batch.add_column(sa.Column("kind", _STR(length=32), nullable=False, server_default="notice"))
        batch.add_column(sa.Column("user_id", _STR(length=36), nullable=True))
        batch.add_column(sa.Column("room_id", _STR(length=36), nullable=True))
        batch.add_column(sa.Column("list_unsubscribe", _STR(length=500), nullable=True))
        batch.add_column(sa.Column("claimed_at", _WHEN(), nullable=True))
        batch.add_column(sa.Column("claim_token", _STR(length=36), nullable=True))
        batch.add_column(sa.Column("give_up_at", _WHEN(), nullable=True))
        batch.create_foreign_key("fk_outboxemail_user_id_user", "user", ["user_id"], ["id"])
        batch.create_foreign_key("fk_outboxemail_room_id_room", "room", ["room_id"], ["id"])
        batch.create_index("ix_outboxemail_user_id", ["user_id"], unique=False)
        batch.create_index("ix_outboxemail_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "email_preference",
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("digest", _STR(length=16), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("digest_day", sa.Integer(), nullable=False),
        sa.Column("immediate", _STR(length=200), nullable=False),
        sa.Column("last_digest_at", _WHEN(), nullable=True),
        sa.Column("digest_checked_at", _WHEN(), nullable=True),
        sa.Column("updated_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "muted_room",
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), primary_key=True),
        sa.Column("muted_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "notification_log",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("kind", _STR(length=32), nullable=False),
        sa.Column("ref", _STR(length=64), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.UniqueConstraint("user_id", "kind", "ref"),
    )


def downgrade() -> None:
    op.drop_table("notification_log")
    op.drop_table("muted_room")
    op.drop_table("email_preference")
    with op.batch_alter_table("outboxemail") as batch:
        batch.drop_index("ix_outboxemail_due")
        batch.drop_index("ix_outboxemail_user_id")
        batch.drop_constraint("fk_outboxemail_room_id_room", type_="foreignkey")
        batch.drop_constraint("fk_outboxemail_user_id_user", type_="foreignkey")
        for column in (
            "give_up_at", "claim_token", "claimed_at", "list_unsubscribe", "room_id",
            "user_id", "kind",
        ):
            batch.drop_column(column)
