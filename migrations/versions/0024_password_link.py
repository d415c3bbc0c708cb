"""one-time links to set a password, for accounts added in the browser

Issue #16. `password_link`: emailed to a new account's holder (or to someone an
administrator sends a fresh link for); only the token's hash is kept; used once.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "password_link",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("token_hash", _STR(length=64), nullable=False, unique=True),
        sa.Column("created_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("expires_at", _WHEN(), nullable=False),
        sa.Column("used_at", _WHEN(), nullable=True),
    )
    op.create_index("ix_password_link_user_id", "password_link", ["user_id"])


def downgrade() -> None:
    op.drop_table("password_link")
