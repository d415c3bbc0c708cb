from __future__ import annotations

from sqlmodel import Field, SQLModel


class AccessEpoch(SQLModel, table=True):
    """One row whose token changes, by database triggers (migration 0018), in every
    transaction that changes what the policy knows of a person: their organisation's kind,
    memberships, teams managed, break-glass and sharing decisions. A process may reuse what
    it read of a person for as long as the token is the one it read with (workspace/facts.py).
    A random token, not a counter: a rolled-back change must not leave a number that a later
    change would reuse."""

    __tablename__ = "access_epoch"
    id: int = Field(default=1, primary_key=True)
    token: str = Field(max_length=32)
