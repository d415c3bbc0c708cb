"""hardening (issue #9): the outbox tells "claimed" from "handed to the SMTP server"

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # Rows already "sending" have no handed_at: as before, a lease that runs out on them
    # could hide a delivery, so they are treated as handed over (see outbox.expire_leases).
    with op.batch_alter_table("outboxemail") as batch:
        batch.add_column(sa.Column("handed_at", _WHEN(), nullable=True))
    op.execute("UPDATE outboxemail SET handed_at = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("outboxemail") as batch:
        batch.drop_column("handed_at")
