"""notices: in-app notifications (break-glass alerts, guests ending, items shared)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("kind", _STR(length=32), nullable=False),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=True),
        sa.Column("text", _STR(length=400), nullable=False),
        sa.Column("link", _STR(length=300), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("read_at", _WHEN(), nullable=True),
    )
    op.create_index("ix_notice_user_id", "notice", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notice_user_id", table_name="notice")
    op.drop_table("notice")
