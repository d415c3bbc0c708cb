"""the child's chronology: significant events members mark

Issue #15. `chronology_entry` keeps what a member marks significant (an item of the room,
or an event of their own) with when it happened and when it was recorded, its type, a
one-line summary, its sensitivity and the agency it comes from. Agency events, plan
versions and deadlines, membership, sharing decisions and break-glass are read into the
chronology from their own tables.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "chronology_entry",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("item_id", _STR(length=36), sa.ForeignKey("message.id"), nullable=True),
        sa.Column("occurred_at", _WHEN(), nullable=False),
        sa.Column("recorded_at", _WHEN(), nullable=False),
        sa.Column("entry_type", _STR(length=32), nullable=False),
        sa.Column("summary", _STR(length=300), nullable=False),
        sa.Column("sensitivity", _STR(length=16), nullable=False),
        sa.Column("author_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column(
            "source_org_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.UniqueConstraint("room_id", "item_id"),
    )
    op.create_index("ix_chronology_entry_room_id", "chronology_entry", ["room_id"])


def downgrade() -> None:
    op.drop_table("chronology_entry")
