"""photos on a concern: end-to-end encrypted to whoever may read the concern

Issue #14 item 2. `contact_photo` is a photo a reporter added to a concern, encrypted in
their browser with the file format (docs/file-format.md) and bound to the contact's id;
`contact_photo_key` is its key sealed to each reader. Ciphertext is on disk, as files'.
A room page finds the concerns among its items by `contact.message_id` (indexed).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "contact_photo",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("contact_id", _STR(length=36), sa.ForeignKey("contact.id"), nullable=False),
        sa.Column("uploader_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _STR(length=64), nullable=False),
        sa.Column("manifest", _STR(length=20000), nullable=False),
        sa.Column("signature", _STR(length=128), nullable=False),
        sa.Column("sign_public", _STR(length=64), nullable=False),
        sa.Column("encrypted_name", _STR(length=4000), nullable=False),
        sa.Column("content_state", _STR(length=16), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("stored_at", _WHEN(), nullable=True),
    )
    op.create_index("ix_contact_photo_contact_id", "contact_photo", ["contact_id"])
    op.create_table(
        "contact_photo_key",
        sa.Column(
            "photo_id", _STR(length=36), sa.ForeignKey("contact_photo.id"), primary_key=True
        ),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("sealed_key", _STR(length=256), nullable=False),
        sa.Column("box_public", _STR(length=64), nullable=False),
        sa.Column("wrapped_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
    )
    op.create_index("ix_contact_photo_key_user_id", "contact_photo_key", ["user_id"])
    # A room page finds the concerns among its items (and their photos) by item.
    op.create_index("ix_contact_message_id", "contact", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_message_id", "contact")
    op.drop_table("contact_photo_key")
    op.drop_table("contact_photo")
