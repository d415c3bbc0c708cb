"""files: public keys, end-to-end encrypted files and their sealed keys

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("box_public", _STR(length=64), nullable=False),
        sa.Column("sign_public", _STR(length=64), nullable=False),
        sa.Column("sealed_private", _STR(length=512), nullable=False),
        sa.Column("kdf_salt", _STR(length=64), nullable=False),
        sa.Column("kdf_opslimit", sa.BigInteger(), nullable=False),
        sa.Column("kdf_memlimit", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", _STR(length=64), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("updated_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "encrypted_file",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("uploader_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column(
            "uploader_org_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("sensitivity", _STR(length=16), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", _STR(length=64), nullable=False),
        sa.Column("manifest", _STR(length=20000), nullable=False),
        sa.Column("signature", _STR(length=128), nullable=False),
        sa.Column("sign_public", _STR(length=64), nullable=False),
        sa.Column("encrypted_name", _STR(length=4000), nullable=False),
        sa.Column("content_state", _STR(length=16), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("stored_at", _WHEN(), nullable=True),
    )
    op.create_index("ix_encrypted_file_room_id", "encrypted_file", ["room_id"])
    op.create_index("ix_encrypted_file_created_at", "encrypted_file", ["created_at"])
    op.create_table(
        "sealed_key",
        sa.Column(
            "file_id", _STR(length=36), sa.ForeignKey("encrypted_file.id"), primary_key=True
        ),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("sealed_key", _STR(length=256), nullable=False),
        sa.Column("box_public", _STR(length=64), nullable=False),
        sa.Column("wrapped_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
    )
    op.create_index("ix_sealed_key_user_id", "sealed_key", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_sealed_key_user_id", table_name="sealed_key")
    op.drop_table("sealed_key")
    op.drop_index("ix_encrypted_file_created_at", table_name="encrypted_file")
    op.drop_index("ix_encrypted_file_room_id", table_name="encrypted_file")
    op.drop_table("encrypted_file")
    op.drop_table("user_keys")
