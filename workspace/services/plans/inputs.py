"""What the plan API takes (DESIGN.md §6 "Plans"). Unknown fields, wrong types, dates that
are not real dates, statuses and categories not in their lists: 422 naming the field,
before anything reaches the plan."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from workspace.schemas import Strict


def _real_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("is not a real date (YYYY-MM-DD)") from exc
    return value


PlanDate = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    AfterValidator(_real_date),
    Field(description="YYYY-MM-DD"),
]
# A field of the plan (concerns, services...): may be emptied.
PlanText = Annotated[str, StringConstraints(max_length=20_000)]
# An outcome's or an action's words: must say something.
ItemText = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
Category = Literal["neglect", "physical", "sexual", "emotional", "multiple"]
ActionStatus = Literal["not_started", "in_progress", "done", "not_done"]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class KeyDatesIn(Strict):
    """A date given replaces the one in the plan; `null` removes it. `reviews` replaces
    the list of review dates."""

    strategy_discussion: PlanDate | None = None
    initial_conference: PlanDate | None = None
    first_core_group: PlanDate | None = None
    reviews: list[PlanDate] | None = Field(default=None, max_length=50)


class CategoryIn(Strict):
    """Child protection plans only: the category at the start and the latest one."""

    initial: Category | None = None
    latest: Category | None = None


class PlanPatchIn(Strict):
    """Fields given replace what the plan holds (a text field's whole text; `null`
    empties it)."""

    key_dates: KeyDatesIn | None = None
    category: CategoryIn | None = None
    concerns: PlanText | None = None
    seen: PlanText | None = None
    services: PlanText | None = None
    contingency: PlanText | None = None
    child_voice: PlanText | None = None
    family_summary: PlanText | None = None


class OutcomeIn(Strict):
    text: ItemText


class ActionIn(Strict):
    text: ItemText
    owner_id: UserId | None = Field(
        default=None, description="a lead or member of the room (who can act on the plan)"
    )
    due: PlanDate | None = None


class ActionPatchIn(Strict):
    """Fields given change the action; `null` clears a due date or an owner."""

    status: ActionStatus | None = None
    evidence: PlanText | None = None
    due: PlanDate | None = None
    owner_id: UserId | None = None
