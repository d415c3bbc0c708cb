"""Tests never depend on the time of day (issue #9, item 18). The app has one clock
(workspace/clock.py) that nothing else bypasses; every test starts it at a fixed instant
(noon UK time, tests/conftest.py), and a process the tests start (`caseroom worker`) is
given the same instant (CASEROOM_CLOCK_START). The digest schedule, which is the part that
cares what time it is in the UK, is tested at 07:30 and across the clock changes."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TEST_START
from workspace.clock import CLOCK_START_ENV, Clock, clock
from workspace.models import EmailPreference
from workspace.services import digests
from workspace.state import Caseroom

ROOT = Path(__file__).resolve().parent.parent
UK = ZoneInfo("Europe/London")

# What reads the wall clock; only workspace/clock.py may. time.monotonic (durations) is fine.
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
              ("date", "today"), ("time", "time"), ("time", "time_ns"),
              ("time", "localtime"), ("time", "gmtime")}  # fmt: skip


def wall_clock_reads(path: Path) -> list[str]:
    """datetime.now() and the like; and pyotp's TOTP(...).now(), which reads time.time()."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if (isinstance(owner, ast.Name) and (owner.id, node.func.attr) in WALL_CLOCK) or (
            node.func.attr == "now"
            and isinstance(owner, ast.Call)
            and ast.unparse(owner.func).endswith("TOTP")
        ):
            found.append(f"{path.relative_to(ROOT)}: {ast.unparse(node)}")
    return found


def test_nothing_but_the_clock_reads_the_wall_clock() -> None:
    dirs = ("workspace", "realtime", "policy", "tests")
    reads = [hit for d in dirs for p in (ROOT / d).rglob("*.py") for hit in wall_clock_reads(p)]
    # The clock itself: Clock.now with no start, and the wall time that anchors a child
    # process's clock (Clock.for_child, Clock.from_env).
    assert [r for r in reads if not r.startswith("workspace/clock.py: ")] == []
    assert "workspace/clock.py: datetime.now(UTC)" in reads


def test_every_test_starts_at_noon_uk_time_on_a_weekday() -> None:
    now = clock.now()
    assert TEST_START <= now < TEST_START + timedelta(seconds=5)
    local = TEST_START.astimezone(UK)
    assert (local.hour, local.minute) == (12, 0) and local.weekday() < 5


def test_a_process_started_with_a_clock_start_runs_from_it() -> None:
    start = datetime(2026, 3, 29, 6, 30, tzinfo=UTC)
    started = Clock.from_env({CLOCK_START_ENV: start.isoformat()})
    first = started.now()
    assert start <= first < start + timedelta(seconds=5)
    assert started.now() >= first  # it runs on
    started.advance(timedelta(hours=1))
    assert started.now() >= start + timedelta(hours=1)
    assert Clock.from_env({}).now() > datetime(2026, 1, 1, tzinfo=UTC)  # unset: the wall


# --- the digest schedule, in UK time -------------------------------------------------------


def digest_times(hour: int, first: datetime, days: int) -> list[datetime]:
    """Run the schedule as the worker does (is_due, then the slot is taken) every 15
    minutes for `days` days: the UK times at which a daily digest goes out."""
    pref = EmailPreference(user_id="x", digest="daily", digest_hour=hour, updated_at=first)
    pref.digest_checked_at = first

    class Someone:
        created_at = first

    sent = []
    now = first
    while now < first + timedelta(days=days):
        if digests.is_due(pref, Someone(), now):  # type: ignore[arg-type]
            pref.digest_checked_at = now
            sent.append(now.astimezone(UK))
        now += timedelta(minutes=15)
    return sent


@pytest.mark.parametrize(
    ("change", "first"),
    [
        # the last Sunday of March: 01:00 GMT becomes 02:00 BST
        ("spring", datetime(2026, 3, 27, 12, 0, tzinfo=UTC)),
        # the last Sunday of October: 02:00 BST becomes 01:00 GMT
        ("autumn", datetime(2026, 10, 23, 12, 0, tzinfo=UTC)),
    ],
)
def test_a_daily_digest_goes_at_eight_uk_time_once_a_day_across_the_clock_change(
    change: str, first: datetime
) -> None:
    sent = digest_times(8, first, days=4)
    assert [(t.day, t.hour, t.minute) for t in sent] == [(d, 8, 0) for d in range(
        first.day + 1, first.day + 5)]  # fmt: skip
    sunday = sent[1]
    assert sunday.weekday() == 6
    # 08:00 UK is 07:00 UTC in summer time, 08:00 UTC in winter.
    utc_hours = [t.astimezone(UTC).hour for t in sent]
    assert utc_hours == ([8, 7, 7, 7] if change == "spring" else [7, 8, 8, 8])


@pytest.mark.parametrize(
    "first",
    [datetime(2026, 3, 27, 12, 0, tzinfo=UTC), datetime(2026, 10, 23, 12, 0, tzinfo=UTC)],
    ids=["spring", "autumn"],
)
def test_an_hour_the_clock_change_skips_or_repeats_still_gives_one_digest_that_day(
    first: datetime,
) -> None:
    """01:00 does not exist on the spring Sunday and happens twice on the autumn one."""
    sent = digest_times(1, first, days=4)
    assert [t.date() for t in sent] == sorted({t.date() for t in sent})  # one a day
    assert len(sent) == 4


@pytest.mark.parametrize(
    "day",
    [datetime(2026, 11, 26, tzinfo=UTC), datetime(2027, 6, 17, tzinfo=UTC)],
    ids=["GMT", "BST"],
)
def test_at_0730_uk_time_the_worker_writes_no_digest_until_0800(
    app: Caseroom, day: datetime
) -> None:
    def at_uk(hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UK)

    clock.start_at(at_uk(12, 0) - timedelta(days=1))
    assert digests.send_digests(app).failed == 0  # whatever slot was still owed

    clock.start_at(at_uk(7, 30))
    early = digests.send_digests(app)
    assert (early.written, early.quiet, early.failed) == (0, 0, 0)
    clock.start_at(at_uk(7, 59))
    late = digests.send_digests(app)
    assert (late.written, late.quiet, late.failed) == (0, 0, 0)
    clock.start_at(at_uk(8, 0))
    due = digests.send_digests(app)
    assert due.written + due.quiet >= 8 and due.failed == 0  # the demo's daily digests
