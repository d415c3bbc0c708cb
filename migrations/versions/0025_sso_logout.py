"""back-channel logout by the provider's session id, and no logout token twice

Issue #16. `websession.sso_sid`: the provider's session id (`sid`) a browser session was
signed in with, so a logout token naming only `sid` ends that session; `sso_logout_seen`:
the logout tokens (hashed `jti`) already acted on, kept while they would still be young
enough to be accepted, so a replayed one is refused.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.add_column("websession", sa.Column("sso_sid", _STR(length=255), nullable=True))
    op.create_index("ix_websession_sso_sid", "websession", ["sso_sid"])
    op.create_table(
        "sso_logout_seen",
        sa.Column("jti_hash", _STR(length=64), primary_key=True),
        sa.Column("seen_at", _WHEN(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sso_logout_seen")
    op.drop_index("ix_websession_sso_sid", "websession")
    with op.batch_alter_table("websession") as batch:
        batch.drop_column("sso_sid")
