"""invitations: a lead invites someone with no account to a room by email

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("email", _STR(length=320), nullable=False),
        sa.Column("role", _STR(length=16), nullable=False),
        sa.Column(
            "organisation_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("access_expires_at", _WHEN(), nullable=True),
        sa.Column("purpose", _STR(length=1000), nullable=False),
        sa.Column("lawful_basis", _STR(length=64), nullable=False),
        sa.Column(
            "sharing_decision_id",
            _STR(length=36),
            sa.ForeignKey("sharingdecision.id"),
            nullable=False,
        ),
        sa.Column("invited_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("token_hash", _STR(length=64), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("link_expires_at", _WHEN(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("accepted_at", _WHEN(), nullable=True),
        sa.Column("accepted_user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("revoked_at", _WHEN(), nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_invitation_room_id", "invitation", ["room_id"], unique=False)
    op.create_index("ix_invitation_email", "invitation", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invitation_email", table_name="invitation")
    op.drop_index("ix_invitation_room_id", table_name="invitation")
    op.drop_table("invitation")
