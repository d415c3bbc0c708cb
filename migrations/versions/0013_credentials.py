"""credentials: API tokens that expire; a second factor an administrator reset

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # Tokens made before this had no lifetime, and keep none (NULL: until revoked).
    with op.batch_alter_table("apitoken") as batch:
        batch.add_column(sa.Column("expires_at", _WHEN(), nullable=True))
    # Set when an administrator resets someone's second factor: they must set up a new
    # authenticator at their next sign-in, whatever their role.
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("totp_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("totp_required")
    with op.batch_alter_table("apitoken") as batch:
        batch.drop_column("expires_at")
