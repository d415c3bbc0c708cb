"""Working days in England: the unit of the statutory clocks (DOMAIN.md, "Process and
clocks"). A working day is Monday to Friday and not an England bank holiday. The bank
holidays come from the maintained `holidays` package (gov.uk's list, with substitute days
such as "Boxing Day (observed)" and one-off days such as a coronation), never a hand-made
table.

Month-based steps ("within 3 months", "every 6 months") count calendar months, as the
guidance does: `add_months` keeps the calendar date even when it falls on a weekend or a
bank holiday, and says nothing about working days. The sentences that show such a date
name its weekday, and `last_working_day_by` gives the day the meeting must really be
held by.

Pure functions of their arguments: nothing here reads the clock (workspace/clock.py is the
only thing that does); callers pass `today`.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ONE_DAY = timedelta(days=1)
ENGLAND = ZoneInfo("Europe/London")


def uk_date(instant: datetime) -> date:
    """The date in England at `instant` (an aware datetime, as workspace/clock.py gives):
    what "today" means for a deadline. 23:30 UTC on a summer evening is already tomorrow."""
    return instant.astimezone(ENGLAND).date()


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> dict[date, str]:
    """England's bank holidays in `year`, by date (built once per year: the package's own
    lazy expansion mutates a shared object, which threads should not share)."""
    found = holidays.country_holidays("GB", subdiv="ENG", years=year, language="en_GB")
    return dict(found.items())


def bank_holiday(day: date) -> str | None:
    """The name of the England bank holiday on `day` ("Boxing Day (observed)"), or None."""
    return _bank_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and bank_holiday(day) is None


def add_working_days(start: date, n: int) -> date:
    """The nth working day after `start` (n > 0), or before it (n < 0). `start` itself
    never counts, whatever day it is: "15 working days after the strategy discussion" on
    a Wednesday is the 15th working day from the Thursday on."""
    if n == 0:
        raise ValueError("n must not be 0: the nth working day after (n > 0) or before (n < 0)")
    step = ONE_DAY if n > 0 else -ONE_DAY
    day, left = start, abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """How many working days after `a`, up to and including `b` (negative when `b` is
    before `a`): the inverse of `add_working_days` (add_working_days(a, n) == b gives n).
    Due on Friday 4 December 2026, on Wednesday 9 December it is 3 working days late."""
    if b < a:
        return -working_days_between(b, a)
    weeks, rest = divmod((b - a).days, 7)
    weekdays = weeks * 5 + sum((a + ONE_DAY * i).weekday() < 5 for i in range(1, rest + 1))
    holidays_in_span = sum(
        1
        for year in range(a.year, b.year + 1)
        for day in _bank_holidays(year)
        if a < day <= b and day.weekday() < 5
    )
    return weekdays - holidays_in_span


def add_months(start: date, months: int) -> date:
    """The same day `months` calendar months on, clamped to the end of a shorter month
    (30 November + 3 months is 28 February). Kept as a calendar date even on a weekend or
    a bank holiday: see the module's docstring."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def last_working_day_by(day: date) -> date:
    """`day` if it is a working day, else the working day before it: when a meeting due on
    a calendar date must in practice be held."""
    return day if is_working_day(day) else add_working_days(day, -1)


def long_date(day: date) -> str:
    """As people in England write it in a letter: "Wednesday 13 January 2027"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    """The date in a sentence's basis: "16 December 2026"."""
    return f"{day.day} {day:%B %Y}"


# When a school day starts, for "before the start of the next school day" (Operation
# Encompass; a local rule: most schools open their doors by half past eight). Term dates
# differ by school and are not known here, so every working day counts as a school day:
# in a holiday the deadline comes earlier than it needs to, never later.
SCHOOL_DAY_STARTS = time(8, 30)


def next_school_day_start(instant: datetime) -> datetime:
    """The start of the first school day that begins after `instant` (aware), in UTC: on
    a working day before 08:30 that same morning, otherwise the next working day's."""
    local = instant.astimezone(ENGLAND)
    day = local.date()
    if not (is_working_day(day) and local.time() < SCHOOL_DAY_STARTS):
        day = add_working_days(day, 1)
    start = datetime.combine(day, SCHOOL_DAY_STARTS, tzinfo=ENGLAND)
    return start.astimezone(UTC)


def school_deadline(due: datetime) -> str:
    """"before the start of the next school day (08:30, Thursday 26 November 2026)"."""
    local = due.astimezone(ENGLAND)
    return f"before the start of the next school day ({local:%H:%M}, {long_date(local.date())})"
