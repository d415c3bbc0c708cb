"""A plan's parts in the words practitioners use (DOMAIN.md "Plans"): the printed plan, the
comparison of two versions and the sentence on the plan page all say the same thing.

Plan JSON comes from a CRDT anyone in the core group may have written: every helper here
takes what it is given and falls back to showing it as it is, never failing on it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workspace import workdays
from workspace.clock import utc

UK = ZoneInfo("Europe/London")

# The plan's free-text parts in document order, with the heading each has in the plan.
TEXT_FIELDS: dict[str, str] = {
    "concerns": "Concerns",
    "seen": "When the child was seen",
    "services": "Services",
    "contingency": "Contingency plan",
    "child_voice": "What the child said",
    "family_summary": "For the family",
}
# The same parts as a sentence names them ("concerns and services changed").
TEXT_NOUNS: dict[str, str] = {
    "concerns": "concerns",
    "seen": "when the child was seen",
    "services": "services",
    "contingency": "contingency plan",
    "child_voice": "what the child said",
    "family_summary": "summary for the family",
}
STATUSES: dict[str, str] = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "done": "Done",
    "not_done": "Not done",
}
CATEGORIES: dict[str, str] = {
    "neglect": "Neglect",
    "physical": "Physical abuse",
    "sexual": "Sexual abuse",
    "emotional": "Emotional abuse",
    "multiple": "Multiple categories",
}
CATEGORY_PARTS: dict[str, str] = {"initial": "Initial category", "latest": "Latest category"}
KEY_DATES: dict[str, str] = {
    "strategy_discussion": "Strategy discussion",
    "initial_conference": "Initial conference",
    "first_core_group": "First core group",
    "reviews": "Reviews",
}


def status(value: Any) -> str:
    return STATUSES.get(value, str(value or "Not started").replace("_", " "))


def category(value: Any) -> str:
    if not value:
        return "Not recorded"
    return CATEGORIES.get(value, str(value))


def long_date(value: Any) -> str:
    """A date as the plan says it (2027-01-13: Wednesday 13 January 2027); anything else
    as it came."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return workdays.long_date(day)


def dates(values: Any) -> str:
    """Review dates, in words, one after another."""
    if not isinstance(values, list) or not values:
        return "None set"
    return ", ".join(long_date(v) for v in values)


def owner(person: Any) -> str:
    """An action's owner with their agency: "Dan Hughes (Oakfield Primary School)"."""
    if not isinstance(person, dict) or not person.get("name"):
        return "No owner"
    organisation = person.get("organisation")
    agency = organisation.get("name") if isinstance(organisation, dict) else None
    return f"{person['name']} ({agency})" if agency else str(person["name"])


def uk_when(moment: datetime) -> str:
    """A signature or a print, in UK time as people read it: "25 November 2026 at 12:00"."""
    local = utc(moment).astimezone(UK)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"
