"""An invitation to a room for someone with no account yet (issue #5)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id

# pending   the link in the email works until link_expires_at
# accepted  used once: the account and the membership exist
# revoked   the lead withdrew it
INVITATION_STATES = ("pending", "accepted", "revoked")


class Invitation(SQLModel, table=True):
    """Only a hash of the link's token is kept: a database read yields no usable link.
    The sharing decision (golden rule 7) is recorded when the lead invites; the membership
    starts when the invitation is accepted (joined_at is then, for rule 3)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    email: str = Field(max_length=320, index=True)
    role: str = Field(max_length=16)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36)
    # Guests only: when their access ends (None: 30 days from acceptance).
    access_expires_at: datetime | None = None
    purpose: str = Field(max_length=1000)
    lawful_basis: str = Field(max_length=64)
    sharing_decision_id: str = Field(foreign_key="sharingdecision.id", max_length=36)
    invited_by_id: str = Field(foreign_key="user.id", max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    link_expires_at: datetime
    status: str = Field(default="pending", max_length=16)
    accepted_at: datetime | None = None
    accepted_user_id: str | None = Field(default=None, foreign_key="user.id", max_length=36)
    revoked_at: datetime | None = None
