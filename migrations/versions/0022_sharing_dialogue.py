"""a sharing decision reached through "Should I share?" keeps the dialogue

Issue #15 item 2. `sharingdecision.guidance_version` names the version of the guidance
file the questions came from; `sharingdecision.dialogue` keeps every question, answer and
the guidance shown, with the recommendation (JSON). A concern raised after the dialogue
keeps the same two on `contact` until it reaches a room. Added in place (ALTER TABLE ...
ADD COLUMN): the access-epoch triggers on sharingdecision stay.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    for table in ("sharingdecision", "contact"):
        op.add_column(table, sa.Column("guidance_version", _STR(length=64), nullable=True))
        op.add_column(table, sa.Column("dialogue", _STR(length=20000), nullable=True))
    # The dialogue's decision a later share (an invitation, a new member) followed.
    op.add_column("sharingdecision", sa.Column("guided_by_id", _STR(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sharingdecision") as batch:
        batch.drop_column("guided_by_id")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("dialogue")
        batch.drop_column("guidance_version")
    with op.batch_alter_table("sharingdecision") as batch:
        batch.drop_column("dialogue")
        batch.drop_column("guidance_version")
