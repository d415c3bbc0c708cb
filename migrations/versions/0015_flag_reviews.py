"""flag reviews: a manager's note that they looked at an access flag (issue #12)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "flag_review",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("flag_id", _STR(length=200), nullable=False),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=True),
        sa.Column("reviewer_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("note", _STR(length=2000), nullable=False),
        sa.Column("reviewed_at", _WHEN(), nullable=False),
    )
    op.create_index("ix_flag_review_flag_id", "flag_review", ["flag_id"])
    op.create_index("ix_flag_review_room_id", "flag_review", ["room_id"])


def downgrade() -> None:
    op.drop_table("flag_review")
