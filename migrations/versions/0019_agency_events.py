"""agency events and the front door: what partner systems send about a child, who must
acknowledge it, and what waits for the local authority's front door (MASH)

Issue #14. An event that matches an open room is also an item of the room (a message of
kind "agency_event"); `agency_event` keeps what the sender said, once per (sending
organisation, their reference). `agency_alert` is each person told at once, with the
deadline (a school DSL's: before the next school day) and when they acknowledged it.
`contact` is what reached the front door and matched no room (an agency event, a concern a
practitioner raised), with the triager's rating and decision; `organisation.
front_door_team_id` names the team that triages.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "agency_event",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("sender_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column(
            "sender_org_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("reference", _STR(length=100), nullable=False),
        sa.Column("event_type", _STR(length=32), nullable=False),
        sa.Column("occurred_at", _WHEN(), nullable=False),
        sa.Column("place", _STR(length=200), nullable=True),
        sa.Column("child_name", _STR(length=200), nullable=True),
        sa.Column("child_date_of_birth", sa.Date(), nullable=True),
        sa.Column("nhs_number", _STR(length=10), nullable=True),
        sa.Column("upn", _STR(length=13), nullable=True),
        sa.Column("summary", _STR(length=2000), nullable=False),
        sa.Column("sensitivity", _STR(length=16), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=True),
        sa.Column(
            "message_id", _STR(length=36), sa.ForeignKey("message.id"), nullable=True, unique=True
        ),
        sa.Column("received_at", _WHEN(), nullable=False),
        sa.UniqueConstraint("sender_org_id", "reference"),
    )
    op.create_index("ix_agency_event_room_id", "agency_event", ["room_id"])
    op.create_index("ix_agency_event_received_at", "agency_event", ["received_at"])
    op.create_table(
        "agency_alert",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column(
            "agency_event_id", _STR(length=36), sa.ForeignKey("agency_event.id"), nullable=False
        ),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("due_at", _WHEN(), nullable=True),
        sa.Column("told_at", _WHEN(), nullable=False),
        sa.Column("acknowledged_at", _WHEN(), nullable=True),
        sa.UniqueConstraint("agency_event_id", "user_id"),
    )
    op.create_index("ix_agency_alert_agency_event_id", "agency_alert", ["agency_event_id"])
    op.create_index("ix_agency_alert_user_id", "agency_alert", ["user_id"])
    op.create_index("ix_agency_alert_room_id", "agency_alert", ["room_id"])
    # In place (ALTER TABLE ADD COLUMN, not a batch copy): the access epoch's triggers on
    # organisation (migration 0018) stay.
    op.add_column("organisation", sa.Column("front_door_team_id", _STR(length=36), nullable=True))
    op.create_table(
        "contact",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("reference", _STR(length=16), nullable=False, unique=True),
        sa.Column("org_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=True),
        sa.Column("source", _STR(length=16), nullable=False),
        sa.Column(
            "agency_event_id", _STR(length=36), sa.ForeignKey("agency_event.id"), nullable=True
        ),
        sa.Column("reporter_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column(
            "reporter_org_id", _STR(length=36), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("child_name", _STR(length=200), nullable=True),
        sa.Column("child_date_of_birth", sa.Date(), nullable=True),
        sa.Column("nhs_number", _STR(length=10), nullable=True),
        sa.Column("upn", _STR(length=13), nullable=True),
        sa.Column("what_happened", _STR(length=4000), nullable=False),
        sa.Column("happened_at", _WHEN(), nullable=True),
        sa.Column("place", _STR(length=200), nullable=True),
        sa.Column("who_told", _STR(length=500), nullable=True),
        sa.Column("child_words", _STR(length=2000), nullable=True),
        sa.Column("action_taken", _STR(length=2000), nullable=True),
        sa.Column("sensitivity", _STR(length=16), nullable=False),
        sa.Column("received_at", _WHEN(), nullable=False),
        sa.Column("rag", _STR(length=8), nullable=True),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("decided_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("decided_at", _WHEN(), nullable=True),
        sa.Column("close_reason", _STR(length=32), nullable=True),
        sa.Column("decision_note", _STR(length=1000), nullable=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=True),
        sa.Column("message_id", _STR(length=36), sa.ForeignKey("message.id"), nullable=True),
    )
    op.create_index("ix_contact_org_id", "contact", ["org_id"])
    op.create_index("ix_contact_received_at", "contact", ["received_at"])


def downgrade() -> None:
    op.drop_table("contact")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("front_door_team_id")
    op.drop_table("agency_alert")
    op.drop_table("agency_event")
