"""A plan's statutory clocks (issue #11 item 5; DOMAIN.md "Process and clocks"): from the
key dates, the next deadline in working days and in words; met, met late, booked and
overdue; and every overdue action, in words, with its owner.

The issue's example sentence ("Initial conference due Wednesday 13 January 2027, 15
working days after the strategy discussion") holds for a strategy discussion on Friday
18 December 2026; one on Wednesday 16 December gives Monday 11 January 2027 (Christmas
Day, Boxing Day observed on Monday 28 December and New Year's Day do not count)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workspace.services.plans.clocks import (
    Deadline,
    deadlines,
    describe,
    describe_overdue,
    label,
    next_deadline,
    overdue_actions,
)

D = date
CP, CIN, EARLY_HELP = "child_protection", "child_in_need", "early_help"


def steps(found: list[Deadline]) -> list[tuple[str, date, bool, bool]]:
    return [(d.step, d.due, d.met, d.overdue) for d in found]


# --- child protection: strategy discussion -> initial conference -> core group -> reviews --


def test_the_initial_conference_is_due_15_working_days_after_the_strategy_discussion() -> None:
    key_dates = {"strategy_discussion": "2026-12-16", "reviews": []}
    (due,) = deadlines(CP, key_dates, today=D(2026, 12, 17))
    assert (due.step, due.due, due.met, due.overdue) == (
        "initial_conference", D(2027, 1, 11), False, False)  # fmt: skip
    assert describe(due) == (
        "Initial conference due Monday 11 January 2027, 15 working days after the strategy "
        "discussion on 16 December 2026"
    )
    assert due.as_json() == {
        "step": "initial_conference",
        "due": "2027-01-11",
        "basis": "15 working days after the strategy discussion on 16 December 2026",
        "overdue": False,
    }


def test_the_issues_example_sentence() -> None:
    due = next_deadline(CP, {"strategy_discussion": "2026-12-18"}, today=D(2026, 12, 18))
    assert due is not None
    assert describe(due) == (
        "Initial conference due Wednesday 13 January 2027, 15 working days after the "
        "strategy discussion on 18 December 2026"
    )


def test_due_today_is_not_yet_overdue_and_the_day_after_it_is() -> None:
    key_dates = {"strategy_discussion": "2026-12-16"}
    assert not deadlines(CP, key_dates, today=D(2027, 1, 11))[0].overdue
    (late,) = deadlines(CP, key_dates, today=D(2027, 1, 12))
    assert late.overdue and not late.met
    assert describe(late) == (
        "Initial conference overdue since Monday 11 January 2027, 15 working days after the "
        "strategy discussion on 16 December 2026"
    )


def test_a_conference_held_in_time_is_met_and_starts_the_next_clocks() -> None:
    key_dates = {"strategy_discussion": "2026-12-16", "initial_conference": "2027-01-08"}
    found = deadlines(CP, key_dates, today=D(2027, 1, 12))
    assert steps(found) == [
        ("initial_conference", D(2027, 1, 11), True, False),
        ("first_core_group", D(2027, 1, 22), False, False),  # 10 working days
        ("review_1", D(2027, 4, 8), False, False),  # within 3 months
    ]
    assert describe(found[0]) == (
        "Initial conference held Friday 8 January 2027, on time: due Monday 11 January 2027, "
        "15 working days after the strategy discussion on 16 December 2026"
    )
    assert describe(found[1]) == (
        "First core group due Friday 22 January 2027, 10 working days after the initial "
        "conference on 8 January 2027"
    )
    next_one = next_deadline(CP, key_dates, today=D(2027, 1, 12))
    assert next_one is not None and next_one.step == "first_core_group"


def test_a_conference_held_late_is_met_late_and_says_by_how_much() -> None:
    key_dates = {"strategy_discussion": "2026-12-16", "initial_conference": "2027-01-13"}
    first = deadlines(CP, key_dates, today=D(2027, 1, 20))[0]
    assert first.met and first.late and not first.overdue
    assert describe(first) == (
        "Initial conference held Wednesday 13 January 2027, 2 working days late: due Monday "
        "11 January 2027, 15 working days after the strategy discussion on 16 December 2026"
    )


def test_a_date_still_to_come_is_a_booking_not_yet_met() -> None:
    key_dates = {"strategy_discussion": "2026-12-16", "initial_conference": "2027-01-08"}
    first = deadlines(CP, key_dates, today=D(2027, 1, 5))[0]
    assert first.booked and not first.met and not first.overdue
    assert describe(first) == (
        "Initial conference booked for Friday 8 January 2027, due Monday 11 January 2027, "
        "15 working days after the strategy discussion on 16 December 2026"
    )
    next_one = next_deadline(CP, key_dates, today=D(2027, 1, 5))
    assert next_one is not None and next_one.step == "initial_conference"

    booked_late = {"strategy_discussion": "2026-12-16", "initial_conference": "2027-01-14"}
    late = deadlines(CP, booked_late, today=D(2027, 1, 5))[0]
    assert describe(late) == (
        "Initial conference booked for Thursday 14 January 2027, 3 working days after it is "
        "due on Monday 11 January 2027, 15 working days after the strategy discussion on "
        "16 December 2026"
    )
    # The booking does not stop the clock: once the day has passed unheld, it is overdue.
    assert deadlines(CP, booked_late, today=D(2027, 1, 12))[0].overdue


def test_reviews_within_3_months_then_at_most_every_6_months() -> None:
    key_dates = {
        "strategy_discussion": "2026-12-16",
        "initial_conference": "2027-01-11",
        "first_core_group": "2027-01-20",
        "reviews": ["2027-10-20", "2027-04-09"],  # in any order
    }
    found = deadlines(CP, key_dates, today=D(2027, 11, 1))
    assert steps(found) == [
        ("initial_conference", D(2027, 1, 11), True, False),
        ("first_core_group", D(2027, 1, 25), True, False),
        ("review_1", D(2027, 4, 11), True, False),
        ("review_2", D(2027, 10, 9), True, False),  # 6 months after the first review
        ("review_3", D(2028, 4, 20), False, False),
    ]
    assert [label(d.step) for d in found[2:]] == [
        "First review conference", "Review conference 2", "Review conference 3"]  # fmt: skip
    assert describe(found[3]) == (
        "Review conference 2 held Wednesday 20 October 2027, 8 working days late: due "
        "Saturday 9 October 2027, 6 months after the review conference on 9 April 2027"
    )
    assert describe(found[4]) == (
        "Review conference 3 due Thursday 20 April 2028, 6 months after the review "
        "conference on 20 October 2027"
    )
    assert next_deadline(CP, key_dates, today=D(2027, 11, 1)) == found[4]


def test_a_review_due_on_a_sunday_keeps_its_calendar_date_and_says_when_to_hold_it() -> None:
    key_dates = {"initial_conference": "2027-01-11", "first_core_group": "2027-01-18"}
    review = next_deadline(CP, key_dates, today=D(2027, 2, 1))
    assert review is not None and review.due == D(2027, 4, 11)
    assert describe(review) == (
        "First review conference due Sunday 11 April 2027, 3 months after the initial "
        "conference on 11 January 2027. That is not a working day: hold it by Friday "
        "9 April 2027"
    )


def test_no_strategy_discussion_recorded_means_no_initial_conference_clock() -> None:
    assert deadlines(CP, {}, today=D(2027, 1, 1)) == []
    assert next_deadline(CP, {"reviews": []}, today=D(2027, 1, 1)) is None


# --- child in need and early help ----------------------------------------------------------


def test_child_in_need_reviews_about_every_4_weeks_a_local_rule_the_sentence_names() -> None:
    key_dates = {"reviews": ["2026-11-02"]}
    (review,) = deadlines(CIN, key_dates, today=D(2026, 11, 25))
    assert (review.step, review.due, review.met) == ("cin_review_2", D(2026, 11, 30), False)
    assert describe(review) == (
        "Child in need review 2 due Monday 30 November 2026, 4 weeks after the child in "
        "need review on 2 November 2026 (local rule: child in need reviews about every "
        "4 weeks)"
    )
    # After an initial conference that made a child in need plan, from the conference.
    after_conference = {"initial_conference": "2026-11-04", "reviews": ["2026-12-01"]}
    assert steps(deadlines(CIN, after_conference, today=D(2026, 12, 31))) == [
        ("cin_review_1", D(2026, 12, 2), True, False),
        ("cin_review_2", D(2026, 12, 29), False, True),
    ]
    # The statutory child protection steps are not a child in need plan's.
    assert deadlines(CIN, {"strategy_discussion": "2026-12-16"}, today=D(2026, 12, 17)) == []


def test_an_early_help_plan_has_no_statutory_clock() -> None:
    key_dates = {"strategy_discussion": "2026-12-16", "initial_conference": "2027-01-11",
                 "reviews": ["2027-02-01"]}  # fmt: skip
    assert deadlines(EARLY_HELP, key_dates, today=D(2027, 6, 1)) == []


@pytest.mark.parametrize(
    "key_dates",
    [
        None,
        {"strategy_discussion": 20261216},
        {"strategy_discussion": "16/12/2026"},
        {"strategy_discussion": "2026-02-30"},
        {"strategy_discussion": "0001-01-01"},
        {"strategy_discussion": "9999-12-31"},
        {"strategy_discussion": "2026-12-16T00:00:00"},
        {"reviews": "2027-01-01"},
        {"reviews": [None, 3, "soon", {"date": "2027-01-01"}]},
    ],
)
def test_garbage_in_the_key_dates_is_ignored(key_dates: Any) -> None:
    """Anyone in the room can write into the plan's document."""
    assert deadlines(CP, key_dates, today=D(2027, 1, 1)) == []


# --- overdue actions ---------------------------------------------------------------------------

NHS = {"id": "o-nhs", "name": "Northshire NHS Trust", "kind": "health"}
HANA = {"id": "u-hana", "name": "Hana Kowalski", "email": "hana.health@nhs.example",
        "organisation": NHS}  # fmt: skip


def action(id: str, due: str | None, status: str = "in_progress", owner: Any = HANA) -> Any:
    return {"id": id, "text": f"Action {id}", "owner": owner, "due": due, "status": status,
            "evidence": ""}  # fmt: skip


SAFE = {"id": "o-safe", "text": "Jamie is safe at home", "actions": [
    action("a-late", "2026-12-04"),
    action("a-done", "2026-11-01", status="done"),
    action("a-not-done", "2026-11-01", status="not_done"),
    action("a-today", "2026-12-09"),
    action("a-undated", None),
]}  # fmt: skip
SCHOOL = {"id": "o-school", "text": "Jamie goes to school every day", "actions": [
    action("a-later", "2026-11-30", status="not_started", owner=None),
    "not an action",
    {"id": "a-garbage", "due": "soon", "status": "in_progress"},
]}  # fmt: skip
PLAN = {"concerns": "", "outcomes": [SAFE, SCHOOL, "not an outcome"], "key_dates": {}}


def test_overdue_actions_are_those_past_due_and_neither_done_nor_not_done() -> None:
    found = overdue_actions(PLAN, today=D(2026, 12, 9))
    assert [(a.action["id"], a.outcome["id"], a.due) for a in found] == [
        ("a-later", "o-school", D(2026, 11, 30)),  # the longest overdue first
        ("a-late", "o-safe", D(2026, 12, 4)),
    ]
    assert overdue_actions(PLAN, today=D(2026, 11, 30)) == []
    assert overdue_actions({"outcomes": "none"}, today=D(2026, 12, 9)) == []
    assert overdue_actions(None, today=D(2026, 12, 9)) == []


def test_an_overdue_action_in_words_names_its_owner() -> None:
    late, unowned = action("a-late", "2026-12-04"), action("a", "2026-11-30", owner=None)
    assert describe_overdue(late, D(2026, 12, 9)) == (
        "Due Friday 4 December 2026, 3 working days ago; owned by Hana Kowalski "
        "(Northshire NHS Trust)"
    )
    assert describe_overdue(unowned, D(2026, 12, 9)) == (
        "Due Monday 30 November 2026, 7 working days ago; no one owns it"
    )
    # Only the weekend since: counted in days.
    assert describe_overdue(late, D(2026, 12, 5)).startswith(
        "Due Friday 4 December 2026, 1 day ago;")  # fmt: skip
    # Across Christmas: only Tuesday 29 December has been a working day since.
    christmas = action("a-xmas", "2026-12-24")
    assert describe_overdue(christmas, D(2026, 12, 29)).startswith(
        "Due Thursday 24 December 2026, 1 working day ago;")  # fmt: skip
    assert describe_overdue(late, D(2026, 12, 4)).startswith("Due today, Friday 4 December 2026;")
    assert describe_overdue(late, D(2026, 12, 2)).startswith(
        "Due Friday 4 December 2026, in 2 working days;")  # fmt: skip
    assert describe_overdue(action("x", None), D(2026, 12, 2)) == (
        "No due date; owned by Hana Kowalski (Northshire NHS Trust)")  # fmt: skip
