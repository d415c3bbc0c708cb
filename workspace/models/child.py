from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class Child(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    date_of_birth: date
    nhs_number: str | None = Field(default=None, max_length=10, index=True)
    upn: str | None = Field(default=None, max_length=13)
    address: str | None = Field(default=None, max_length=500)
    created_at: datetime
