"""sign in with one's own organisation (OpenID Connect)

Issue #16. `organisation_sso`: an organisation's provider (issuer, client id, where the
secret is read from, the email domains it vouches for, whether passwords are off);
`sso_identity`: a provider's subject linked to a user (issuer + sub, unique);
`sso_attempt`: a sign-in on its way through the provider (state hash, nonce, PKCE
verifier), used once.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "organisation_sso",
        sa.Column(
            "organisation_id", _STR(length=36), sa.ForeignKey("organisation.id"), primary_key=True
        ),
        sa.Column("issuer", _STR(length=500), nullable=False),
        sa.Column("client_id", _STR(length=255), nullable=False),
        sa.Column("client_secret_env", _STR(length=100), nullable=True),
        sa.Column("client_secret_file", _STR(length=500), nullable=True),
        sa.Column("domains", _STR(length=2000), nullable=False),
        sa.Column("sso_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "sso_identity",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("issuer", _STR(length=500), nullable=False),
        sa.Column("subject", _STR(length=255), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("last_used_at", _WHEN(), nullable=False),
        sa.UniqueConstraint("issuer", "subject"),
    )
    op.create_index("ix_sso_identity_user_id", "sso_identity", ["user_id"])
    op.create_table(
        "sso_attempt",
        sa.Column("state_hash", _STR(length=64), primary_key=True),
        sa.Column(
            "organisation_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("nonce", _STR(length=128), nullable=False),
        sa.Column("code_verifier", _STR(length=128), nullable=False),
        sa.Column("next_path", _STR(length=500), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("used_at", _WHEN(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sso_attempt")
    op.drop_table("sso_identity")
    op.drop_table("organisation_sso")
