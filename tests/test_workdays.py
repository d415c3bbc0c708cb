"""Working days in England (issue #11 item 5): the statutory clocks count Monday to Friday
less England's bank holidays, taken from the maintained `holidays` package, substitute
days included. Checked against a table of known dates (gov.uk's bank holidays for 2026
and 2027): Christmas, Boxing Day observed on a Monday, New Year, Easter, May, summer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workspace.workdays import (
    add_months,
    add_working_days,
    bank_holiday,
    is_working_day,
    last_working_day_by,
    long_date,
    next_school_day_start,
    school_deadline,
    uk_date,
    working_days_between,
)

D = date

# (day, a working day?, why)
KNOWN_DAYS = [
    (D(2026, 11, 25), True, "an ordinary Wednesday"),
    (D(2026, 11, 28), False, "a Saturday"),
    (D(2026, 11, 29), False, "a Sunday"),
    (D(2026, 11, 30), True, "St Andrew's Day is a bank holiday in Scotland, not England"),
    (D(2026, 12, 24), True, "Christmas Eve is a working day"),
    (D(2026, 12, 25), False, "Christmas Day, a Friday"),
    (D(2026, 12, 26), False, "Boxing Day, a Saturday"),
    (D(2026, 12, 28), False, "Boxing Day (observed): the Monday after"),
    (D(2026, 12, 29), True, "the Tuesday after Christmas 2026"),
    (D(2027, 1, 1), False, "New Year's Day, a Friday"),
    (D(2027, 1, 4), True, "the first working day of 2027"),
    (D(2029, 1, 2), True, "2 January is a bank holiday in Scotland only"),
    (D(2027, 3, 25), True, "Maundy Thursday"),
    (D(2027, 3, 26), False, "Good Friday 2027"),
    (D(2027, 3, 29), False, "Easter Monday 2027"),
    (D(2027, 3, 30), True, "the Tuesday after Easter"),
    (D(2027, 5, 3), False, "the early May bank holiday"),
    (D(2027, 5, 31), False, "the spring bank holiday"),
    (D(2027, 8, 30), False, "the summer bank holiday"),
    (D(2027, 12, 27), False, "Christmas Day 2027 is a Saturday: observed on Monday"),
    (D(2027, 12, 28), False, "Boxing Day 2027 is a Sunday: observed on Tuesday"),
    (D(2028, 1, 3), False, "New Year's Day 2028 is a Saturday: observed on Monday"),
    (D(2022, 9, 19), False, "a one-off: the State Funeral of Queen Elizabeth II"),
    (D(2023, 5, 8), False, "a one-off: the Coronation of Charles III"),
]


@pytest.mark.parametrize(("day", "working", "why"), KNOWN_DAYS, ids=[k[2] for k in KNOWN_DAYS])
def test_a_table_of_known_days(day: date, working: bool, why: str) -> None:
    assert is_working_day(day) is working, why


def test_substitute_days_are_named_as_gov_uk_names_them() -> None:
    assert bank_holiday(D(2026, 12, 28)) == "Boxing Day (observed)"
    assert bank_holiday(D(2027, 3, 26)) == "Good Friday"
    assert bank_holiday(D(2026, 12, 24)) is None


# (from, n, the nth working day after it, why)
KNOWN_SPANS = [
    (D(2026, 12, 16), 15, D(2027, 1, 11), "15 working days across Christmas and New Year"),
    (D(2026, 12, 18), 15, D(2027, 1, 13), "the issue's Wednesday 13 January 2027"),
    (D(2026, 12, 22), 10, D(2027, 1, 8), "10 working days across Christmas and New Year"),
    (D(2027, 12, 23), 5, D(2028, 1, 4), "Christmas and New Year 2027, all observed on Mondays"),
    (D(2026, 11, 27), 1, D(2026, 11, 30), "Friday to Monday: a weekend span"),
    (D(2026, 11, 28), 1, D(2026, 11, 30), "from a Saturday: the start never counts"),
    (D(2026, 11, 25), 5, D(2026, 12, 2), "a week is 5 working days"),
    (D(2027, 3, 25), 1, D(2027, 3, 30), "over Easter"),
    (D(2027, 4, 30), 1, D(2027, 5, 4), "over the early May bank holiday"),
    (D(2027, 5, 28), 1, D(2027, 6, 1), "over the spring bank holiday"),
    (D(2027, 8, 27), 1, D(2027, 8, 31), "over the summer bank holiday"),
    (D(2027, 1, 4), -1, D(2026, 12, 31), "backwards: the working day before"),
]


@pytest.mark.parametrize(
    ("start", "n", "expected", "why"), KNOWN_SPANS, ids=[k[3] for k in KNOWN_SPANS]
)
def test_adding_working_days(start: date, n: int, expected: date, why: str) -> None:
    assert add_working_days(start, n) == expected, why
    assert working_days_between(start, expected) == n, why


def test_zero_working_days_is_refused_as_ambiguous() -> None:
    with pytest.raises(ValueError, match="must not be 0"):
        add_working_days(D(2026, 12, 25), 0)


def test_working_days_between_counts_after_the_first_up_to_and_including_the_second() -> None:
    assert working_days_between(D(2026, 12, 4), D(2026, 12, 9)) == 3  # Mon, Tue, Wed
    assert working_days_between(D(2026, 12, 9), D(2026, 12, 4)) == -3
    assert working_days_between(D(2026, 12, 4), D(2026, 12, 6)) == 0  # the weekend
    assert working_days_between(D(2026, 12, 24), D(2027, 1, 4)) == 4  # 29, 30, 31, 4
    assert working_days_between(D(2026, 1, 1), D(2026, 12, 31)) == 253  # gov.uk: 8 holidays
    assert working_days_between(D(2026, 12, 9), D(2026, 12, 9)) == 0


def test_working_days_between_undoes_adding_them_for_every_start_over_christmas() -> None:
    for offset in range(40):
        start = D(2026, 12, 1) + timedelta(days=offset)
        for n in (1, 2, 10, 15, 30):
            assert working_days_between(start, add_working_days(start, n)) == n, (start, n)


# (from, months, expected, why)
KNOWN_MONTHS = [
    (D(2027, 1, 11), 3, D(2027, 4, 11), "the same date, even on a Sunday"),
    (D(2026, 11, 30), 3, D(2027, 2, 28), "clamped to the end of February"),
    (D(2027, 8, 31), 6, D(2028, 2, 29), "a leap year's February"),
    (D(2026, 10, 31), 1, D(2026, 11, 30), "a 30-day month"),
    (D(2026, 12, 15), 1, D(2027, 1, 15), "into the next year"),
    (D(2027, 3, 31), -1, D(2027, 2, 28), "backwards"),
]


@pytest.mark.parametrize(
    ("start", "months", "expected", "why"), KNOWN_MONTHS, ids=[k[3] for k in KNOWN_MONTHS]
)
def test_calendar_months(start: date, months: int, expected: date, why: str) -> None:
    assert add_months(start, months) == expected, why


def test_a_date_that_is_not_a_working_day_is_held_by_the_working_day_before() -> None:
    assert last_working_day_by(D(2027, 4, 11)) == D(2027, 4, 9)  # Sunday -> Friday
    assert last_working_day_by(D(2026, 12, 28)) == D(2026, 12, 24)  # over Christmas
    assert last_working_day_by(D(2026, 12, 29)) == D(2026, 12, 29)


def test_today_is_the_date_in_england() -> None:
    assert uk_date(datetime(2027, 6, 17, 23, 30, tzinfo=UTC)) == D(2027, 6, 18)  # BST
    assert uk_date(datetime(2026, 11, 25, 23, 30, tzinfo=UTC)) == D(2026, 11, 25)  # GMT


def test_dates_in_words() -> None:
    assert long_date(D(2027, 1, 13)) == "Wednesday 13 January 2027"
    assert long_date(D(2026, 12, 4)) == "Friday 4 December 2026"


# Operation Encompass (issue #14): a school's DSL hears of a domestic abuse incident
# before the start of the next school day (08:30 in England; every working day counts).
SCHOOL_DAYS = [
    (datetime(2026, 11, 25, 12, 0, tzinfo=UTC), datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
     "Wednesday noon: Thursday morning"),
    (datetime(2026, 11, 26, 7, 0, tzinfo=UTC), datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
     "Thursday 07:00: that same morning"),
    (datetime(2026, 11, 26, 8, 30, tzinfo=UTC), datetime(2026, 11, 27, 8, 30, tzinfo=UTC),
     "at the start itself: the next day's"),
    (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 30, tzinfo=UTC),
     "Friday evening: Monday"),
    (datetime(2026, 11, 28, 10, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 30, tzinfo=UTC),
     "Saturday: Monday"),
    (datetime(2026, 12, 24, 12, 0, tzinfo=UTC), datetime(2026, 12, 29, 8, 30, tzinfo=UTC),
     "Christmas Eve: past Christmas and Boxing Day (observed on the Monday)"),
    (datetime(2026, 7, 1, 6, 0, tzinfo=UTC), datetime(2026, 7, 1, 7, 30, tzinfo=UTC),
     "07:00 in summer (BST): 08:30 is 07:30 UTC"),
    (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 7, 30, tzinfo=UTC),
     "23:30 UTC on a summer evening is already the next morning in England"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "due", "why"), SCHOOL_DAYS, ids=[w for *_, w in SCHOOL_DAYS])
def test_the_next_school_day_starts(at: datetime, due: datetime, why: str) -> None:
    assert next_school_day_start(at) == due, why


def test_the_school_deadline_reads_as_people_write_it() -> None:
    due = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    assert school_deadline(due) == (
        "before the start of the next school day (08:30, Thursday 26 November 2026)"
    )
