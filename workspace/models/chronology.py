"""The child's chronology (issue #15): significant events across agencies, one timeline
per room. What members mark is kept here; the rest (agency events, plan versions and
deadlines, membership, sharing decisions, break-glass) is read from where it is recorded
already (workspace/services/chronology.py), so nothing is written twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from workspace.ids import new_id

# What a marked entry is, as the records distinguish them (DOMAIN.md "Records").
ENTRY_TYPES = ("fact", "opinion", "voice_of_child", "third_party", "decision")
# What the chronology shows of what is recorded elsewhere.
EVENT_TYPES = ("agency_event", "plan", "deadline", "membership", "sharing", "break_glass")
TYPE_LABELS = {
    "fact": "Fact",
    "opinion": "Professional opinion",
    "voice_of_child": "Voice of the child",
    "third_party": "Third-party report",
    "decision": "Decision",
    "agency_event": "Agency event",
    "plan": "Plan",
    "deadline": "Plan deadline",
    "membership": "Core group",
    "sharing": "Sharing decision",
    "break_glass": "Break-glass access",
}


class ChronologyEntry(SQLModel, table=True):
    """A significant event a member recorded: of an item of the room (`item_id`), or of
    their own. `occurred_at` is when it happened, `recorded_at` when it was written: an
    entry written late says so (chronologies must)."""

    __tablename__ = "chronology_entry"
    __table_args__ = (UniqueConstraint("room_id", "item_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    item_id: str | None = Field(default=None, foreign_key="message.id", max_length=36)
    occurred_at: datetime
    recorded_at: datetime
    entry_type: str = Field(max_length=32)
    summary: str = Field(max_length=300)
    sensitivity: str = Field(max_length=16)
    author_id: str = Field(foreign_key="user.id", max_length=36)
    # The agency the information comes from: the item's author's organisation, else the
    # author's. A restricted entry stays with it and the lead (rule 2).
    source_org_id: str = Field(foreign_key="organisation.id", max_length=36)
