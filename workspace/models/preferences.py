"""What email each person wants: digests, which notifications come at once, muted rooms."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from workspace.ids import new_id

DIGEST_CHOICES = ("off", "daily", "weekly")
DEFAULT_DIGEST = "daily"
DEFAULT_DIGEST_HOUR = 8  # local time, Europe/London
DEFAULT_DIGEST_DAY = 0  # Monday (weekly digests)
# Notifications a person may have at once or leave for the digest (break-glass alerts are
# always sent at once: rule 8 says the lead, the manager and the IG lead are notified).
OPTIONAL_NOTIFICATIONS = ("mention", "added", "guest_expiring", "action_overdue")


class EmailPreference(SQLModel, table=True):
    """One row per person who has changed a setting or had a digest; absent: defaults."""

    __tablename__ = "email_preference"
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=36)
    digest: str = Field(default=DEFAULT_DIGEST, max_length=16)
    digest_hour: int = DEFAULT_DIGEST_HOUR
    digest_day: int = DEFAULT_DIGEST_DAY
    # Comma-separated kinds from OPTIONAL_NOTIFICATIONS sent at once; the rest wait.
    immediate: str = Field(default=",".join(OPTIONAL_NOTIFICATIONS), max_length=200)
    # The last digest that had something to say (its window ends here).
    last_digest_at: datetime | None = None
    # The last scheduled moment that was looked at, whether or not it had anything to say.
    digest_checked_at: datetime | None = None
    updated_at: datetime


class MutedRoom(SQLModel, table=True):
    """A room left out of someone's digests and immediate notifications."""

    __tablename__ = "muted_room"
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=36)
    muted_at: datetime


class NotificationLog(SQLModel, table=True):
    """Reminders already sent, so a scan that runs every minute tells people once."""

    __tablename__ = "notification_log"
    __table_args__ = (UniqueConstraint("user_id", "kind", "ref"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", max_length=36)
    kind: str = Field(max_length=32)
    ref: str = Field(max_length=64)
    created_at: datetime
