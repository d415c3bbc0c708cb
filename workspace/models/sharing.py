from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id

LAWFUL_BASES = {
    "public_task": "UK GDPR Art 6(1)(e) public task",
    "legal_obligation": "UK GDPR Art 6(1)(c) legal obligation",
    "safeguarding": (
        "UK GDPR Art 9(2)(g) substantial public interest, DPA 2018 Sch 1 Pt 2 para 18 "
        "safeguarding of children and individuals at risk"
    ),
}
CONSENT_STATES = ("given", "refused", "not_sought")


class SharingDecision(SQLModel, table=True):
    """Golden rule 7: record the decision and the reasons, whether to share or not."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    decided_by_id: str = Field(foreign_key="user.id", max_length=36)
    decision: str = Field(default="share", max_length=16)
    what: str = Field(max_length=64)
    item_id: str | None = Field(default=None, max_length=36)
    with_user_id: str | None = Field(default=None, foreign_key="user.id", max_length=36)
    with_organisation_id: str | None = Field(
        default=None, foreign_key="organisation.id", max_length=36
    )
    purpose: str = Field(max_length=1000)
    lawful_basis: str = Field(max_length=64)
    consent: str = Field(max_length=16)
    consent_reason: str | None = Field(default=None, max_length=1000)
    # A decision reached through "Should I share?" (issue #15): the guidance's version, and
    # every question, answer and guidance shown, with the recommendation (JSON).
    guidance_version: str | None = Field(default=None, max_length=64)
    dialogue: str | None = Field(default=None, max_length=20000)
    # A share made after the dialogue (inviting the person it was about): the dialogue's
    # own decision, whose answers this one carries too.
    guided_by_id: str | None = Field(default=None, max_length=36)
    created_at: datetime
