"""hardening (issue #9): one open room per child; the outbox tells "claimed" from "handed
to the SMTP server"

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import logging
import re
import unicodedata

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime
log = logging.getLogger("alembic.runtime.migration")


def _name(name: str) -> str:
    # As workspace.identifiers.normalise_name on the day of this migration (a migration
    # must not change with the code).
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(c for c in bare if c.isalnum()) or " ".join(bare.split())


def _keys(name: str, dob: object, nhs: str | None, upn: str | None) -> list[str]:
    keys = [f"name:{_name(name)}|{str(dob)[:10]}"]
    if nhs:
        keys.append("nhs:" + re.sub(r"[\s-]", "", nhs))
    if upn:
        keys.append(f"upn:{upn.strip().upper()}")
    return keys


def upgrade() -> None:
    op.create_table(
        "child_key",
        sa.Column("key", _STR(length=260), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
    )
    op.create_index("ix_child_key_room_id", "child_key", ["room_id"], unique=False)
    # Open rooms keep their keys, the oldest first. A child who already has two open rooms
    # (made before this check existed) keeps them both: only the first holds the keys, so
    # new rooms and break-glass find that one; the others are named in the log for their
    # leads to merge and close. Nothing is closed or hidden from its members here.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT room.id, room.reference, child.name, child.date_of_birth, "
            "child.nhs_number, child.upn FROM room JOIN child ON child.id = room.child_id "
            "WHERE room.status = 'open' ORDER BY room.created_at, room.id"
        )
    ).all()
    taken: dict[str, str] = {}
    for room_id, reference, name, dob, nhs, upn in rows:
        keys = _keys(name, dob, nhs, upn)
        clash = sorted({taken[k] for k in keys if k in taken})
        if clash:
            log.warning(
                "case room %s is a second open room for the child of %s: not keyed; "
                "merge and close one of them",
                reference,
                ", ".join(clash),
            )
            continue
        for key in keys:
            taken[key] = reference
            bind.execute(
                sa.text("INSERT INTO child_key (key, room_id) VALUES (:key, :room_id)"),
                {"key": key, "room_id": room_id},
            )

    # Rows already "sending" have no handed_at: as before, a lease that runs out on them
    # could hide a delivery, so they are taken as handed over (outbox.expire_leases).
    with op.batch_alter_table("outboxemail") as batch:
        batch.add_column(sa.Column("handed_at", _WHEN(), nullable=True))
    op.execute("UPDATE outboxemail SET handed_at = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("outboxemail") as batch:
        batch.drop_column("handed_at")
    op.drop_index("ix_child_key_room_id", table_name="child_key")
    op.drop_table("child_key")
