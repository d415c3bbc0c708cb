"""One clock for the whole app, so tests can move time (guest expiry, sessions) and fix
the time of day (digests are scheduled in UK time): nothing else reads the wall clock.

CASEROOM_CLOCK_START (an ISO instant) starts a process's clock there, running on from it:
for tests that run `caseroom worker` or `caseroom serve` as processes of their own beside a
clock they have fixed, and for demonstrating the digest schedule. Unset in production.
`ISO@UNIX-TIME` says the instant held at that wall time, so a process that takes a second
to start still reads exactly its parent's time (`Clock.for_child`): tests that time a
closing to within a second need that.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

CLOCK_START_ENV = "CASEROOM_CLOCK_START"


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._start: datetime | None = None
        self._started = 0.0
        if start is not None:
            self.start_at(start)

    def now(self) -> datetime:
        """Aware UTC: every datetime column stores UTC (sqlmodel's UTCDateTime)."""
        if self._start is None:
            base = datetime.now(UTC)
        else:
            # It keeps running (monotonically) from the start, so order and durations hold.
            base = self._start + timedelta(seconds=time.monotonic() - self._started)
        return base + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def start_at(self, instant: datetime) -> None:
        """Run from `instant` on, whatever the wall clock says (earlier advances undone)."""
        self._start = utc(instant)
        self._started = time.monotonic()
        self._offset = timedelta(0)

    def for_child(self) -> str:
        """CASEROOM_CLOCK_START for a process started now that must keep this clock's time."""
        return f"{self.now().isoformat()}@{time.time()!r}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Clock:
        start = (dict(os.environ) if env is None else env).get(CLOCK_START_ENV)
        if not start:
            return cls(None)
        instant, _, wall = start.partition("@")
        since = max(0.0, time.time() - float(wall)) if wall else 0.0
        return cls(datetime.fromisoformat(instant) + timedelta(seconds=since))


def wall_time() -> float:
    """The real time (Unix seconds), only for judging what another party stamped with its
    own clock: an identity provider's tokens (issue #16). Never the app's own time."""
    return time.time()


def utc(dt: datetime) -> datetime:
    """A datetime from outside (API input) as aware UTC; a naive one is taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


clock = Clock.from_env()
