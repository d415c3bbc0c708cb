"""The statutory clocks of a plan (DOMAIN.md, "Process and clocks"; issue #11 item 5), and
its overdue actions, as data and in words.

From the plan's key dates (the §6 `key_dates` JSON: "strategy_discussion",
"initial_conference", "first_core_group", "reviews") and today:

- child protection: the initial conference 15 working days after the strategy discussion;
  the first core group 10 working days after the initial conference; the first review
  conference within 3 months of the initial conference; each later review at most 6
  months after the one before (calendar months: workspace/workdays.py says why);
- child in need: a review about every 4 weeks after the meeting before (the initial
  conference, when there was one, then each review). This is a local rule, not statute,
  and the sentences say so;
- early help: no statutory clock.

A step whose date is recorded is met on or before that date (late, if after its due
date); a recorded date still to come is a booking, not yet met. Dates that are not
"YYYY-MM-DD" within a plausible range are ignored: the plan JSON comes from a document
anyone in the room can edit.

Pure functions: `today` is the caller's (the UK date of workspace/clock.py's now).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from workspace.workdays import (
    add_months,
    add_working_days,
    is_working_day,
    last_working_day_by,
    long_date,
    short_date,
    working_days_between,
)

INITIAL_CONFERENCE_WORKING_DAYS = 15
FIRST_CORE_GROUP_WORKING_DAYS = 10
FIRST_REVIEW_MONTHS = 3
LATER_REVIEW_MONTHS = 6
# Local rule (DOMAIN.md): child in need reviews "about every 4 weeks".
CHILD_IN_NEED_REVIEW_EVERY = timedelta(weeks=4)

CLOSED_STATUSES = frozenset({"done", "not_done"})
# Outside these a date is a typing slip or garbage, not a case's history.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Deadline:
    """One statutory step: `step` is "initial_conference", "first_core_group", "review_N"
    (child protection review conferences) or "cin_review_N" (child in need reviews), N
    from 1; `basis` says in words what `due` was counted from; `held_on` is the date
    recorded for the step (None: not yet), met once that date has come."""

    step: str
    due: date
    basis: str
    overdue: bool
    met: bool
    held_on: date | None = None

    @property
    def booked(self) -> bool:
        """A date is recorded but still to come."""
        return self.held_on is not None and not self.met

    @property
    def late(self) -> bool:
        """Held (or booked) after it was due."""
        return self.held_on is not None and self.held_on > self.due

    def as_json(self) -> dict[str, Any]:
        """The §6 `deadlines` item."""
        return {
            "step": self.step,
            "due": self.due.isoformat(),
            "basis": self.basis,
            "overdue": self.overdue,
        }


# --- key dates -----------------------------------------------------------------------------


def parse_day(value: object) -> date | None:
    """A "YYYY-MM-DD" string within the plausible range, else None."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def _reviews(value: object) -> list[date]:
    days = (parse_day(v) for v in value) if isinstance(value, list) else iter(())
    return sorted({d for d in days if d is not None})


def label(step: str) -> str:
    """The step as the page names it: "Initial conference", "Review conference 2"."""
    if step == "initial_conference":
        return "Initial conference"
    if step == "first_core_group":
        return "First core group"
    kind, _, number = step.rpartition("_")
    if kind == "review":
        return "First review conference" if number == "1" else f"Review conference {number}"
    if kind == "cin_review":
        return f"Child in need review {number}"
    return step.replace("_", " ").capitalize()


def _deadline(step: str, due: date, basis: str, held_on: date | None, today: date) -> Deadline:
    met = held_on is not None and held_on <= today
    return Deadline(step, due, basis, overdue=not met and today > due, met=met, held_on=held_on)


def deadlines(
    plan_type: str,
    key_dates: Mapping[str, Any] | None,
    today: date,
    *,
    child_in_need_every: timedelta = CHILD_IN_NEED_REVIEW_EVERY,
) -> list[Deadline]:
    """Every deadline the key dates let us count, met or not, earliest due first."""
    dates: Mapping[str, Any] = key_dates if isinstance(key_dates, Mapping) else {}
    strategy = parse_day(dates.get("strategy_discussion"))
    initial = parse_day(dates.get("initial_conference"))
    core_group = parse_day(dates.get("first_core_group"))
    reviews = _reviews(dates.get("reviews"))
    found: list[Deadline] = []
    if plan_type == "child_protection":
        if strategy is not None:
            found.append(_deadline(
                "initial_conference",
                add_working_days(strategy, INITIAL_CONFERENCE_WORKING_DAYS),
                f"{INITIAL_CONFERENCE_WORKING_DAYS} working days after the strategy "
                f"discussion on {short_date(strategy)}",
                initial, today,
            ))  # fmt: skip
        if initial is not None:
            found.append(_deadline(
                "first_core_group",
                add_working_days(initial, FIRST_CORE_GROUP_WORKING_DAYS),
                f"{FIRST_CORE_GROUP_WORKING_DAYS} working days after the initial conference "
                f"on {short_date(initial)}",
                core_group, today,
            ))  # fmt: skip
        found += _review_chain(
            "review", initial, reviews, today,
            first=lambda d: (add_months(d, FIRST_REVIEW_MONTHS),
                             f"{FIRST_REVIEW_MONTHS} months after the initial conference "
                             f"on {short_date(d)}"),
            later=lambda d: (add_months(d, LATER_REVIEW_MONTHS),
                             f"{LATER_REVIEW_MONTHS} months after the review conference "
                             f"on {short_date(d)}"),
        )  # fmt: skip
    elif plan_type == "child_in_need":
        weeks = child_in_need_every.days // 7
        rule = f"(local rule: child in need reviews about every {weeks} weeks)"
        found += _review_chain(
            "cin_review", initial, reviews, today,
            first=lambda d: (d + child_in_need_every,
                             f"{weeks} weeks after the initial conference on "
                             f"{short_date(d)} {rule}"),
            later=lambda d: (d + child_in_need_every,
                             f"{weeks} weeks after the child in need review on "
                             f"{short_date(d)} {rule}"),
        )  # fmt: skip
    return sorted(found, key=lambda d: d.due)


def _review_chain(
    prefix: str,
    initial: date | None,
    reviews: list[date],
    today: date,
    *,
    first: Callable[[date], tuple[date, str]],
    later: Callable[[date], tuple[date, str]],
) -> Iterable[Deadline]:
    """Each review is due counted from the meeting before it (`first` from the initial
    conference, `later` from a review); one more is due after the last recorded."""
    previous: date | None = initial
    from_review = False
    for number, held in enumerate([*reviews, None], start=1):
        if previous is not None:
            due, basis = (later if from_review else first)(previous)
            yield _deadline(f"{prefix}_{number}", due, basis, held, today)
        if held is None:
            break
        previous, from_review = held, True


def next_deadline(
    plan_type: str, key_dates: Mapping[str, Any] | None, today: date
) -> Deadline | None:
    """The earliest deadline not yet met (overdue ones first, being earliest)."""
    return next((d for d in deadlines(plan_type, key_dates, today) if not d.met), None)


def describe(deadline: Deadline) -> str:
    """The deadline in words, as the room shows it:
    "Initial conference due Monday 11 January 2027, 15 working days after the strategy
    discussion on 16 December 2026"."""
    what, due, basis = label(deadline.step), long_date(deadline.due), deadline.basis
    held = deadline.held_on
    if held is not None and deadline.met:
        if deadline.late:
            late = _working_days(working_days_between(deadline.due, held))
            return f"{what} held {long_date(held)}, {late} late: due {due}, {basis}"
        return f"{what} held {long_date(held)}, on time: due {due}, {basis}"
    if held is not None:
        booked = f"{what} booked for {long_date(held)}"
        if deadline.late:
            late = _working_days(working_days_between(deadline.due, held))
            return f"{booked}, {late} after it is due on {due}, {basis}"
        return f"{booked}, due {due}, {basis}"
    if deadline.overdue:
        return f"{what} overdue since {due}, {basis}"
    sentence = f"{what} due {due}, {basis}"
    if not is_working_day(deadline.due):
        by = long_date(last_working_day_by(deadline.due))
        sentence += f". That is not a working day: hold it by {by}"
    return sentence


def _working_days(n: int) -> str:
    return f"{n} working day" if n == 1 else f"{n} working days"


# --- overdue actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueAction:
    """An action (the §6 action JSON) past its due date and neither done nor not done,
    with the outcome (the §6 outcome JSON) it belongs to."""

    action: dict[str, Any]
    outcome: dict[str, Any]
    due: date


def overdue_actions(plan: Mapping[str, Any] | None, today: date) -> list[OverdueAction]:
    """The plan's open actions whose due date has passed, the longest overdue first."""
    found: list[OverdueAction] = []
    outcomes = plan.get("outcomes") if isinstance(plan, Mapping) else None
    for outcome in outcomes if isinstance(outcomes, list) else ():
        actions = outcome.get("actions") if isinstance(outcome, dict) else None
        for action in actions if isinstance(actions, list) else ():
            if not isinstance(action, dict) or action.get("status") in CLOSED_STATUSES:
                continue
            due = parse_day(action.get("due"))
            if due is not None and due < today:
                found.append(OverdueAction(action, outcome, due))
    return sorted(found, key=lambda item: item.due)


def owner_name(action: Mapping[str, Any]) -> str | None:
    """The owner (user JSON) as the page names them: "Hana Health (Northshire NHS Trust)"."""
    owner = action.get("owner")
    if not isinstance(owner, dict) or not isinstance(owner.get("name"), str):
        return None
    org = owner.get("organisation")
    org_name = org.get("name") if isinstance(org, dict) else None
    return f"{owner['name']} ({org_name})" if isinstance(org_name, str) else owner["name"]


def describe_overdue(action: Mapping[str, Any], today: date) -> str:
    """When the action was due, counted from today, and who owns it:
    "Due Friday 4 December 2026, 3 working days ago; owned by Hana Health (Northshire NHS
    Trust)". An action due in the future or without a date is described as such."""
    due = parse_day(action.get("due"))
    if due is None:
        when = "No due date"
    elif due == today:
        when = f"Due today, {long_date(due)}"
    else:
        n = working_days_between(today, due) if due > today else working_days_between(due, today)
        if n:
            span = _working_days(n)
        else:  # only weekend or bank holiday days between: count the days themselves
            days = abs((today - due).days)
            span = f"{days} day" if days == 1 else f"{days} days"
        when = f"Due {long_date(due)}, " + (f"in {span}" if due > today else f"{span} ago")
    owner = owner_name(action)
    return f"{when}; owned by {owner}" if owner else f"{when}; no one owns it"
