"""The plan as a Y document (pycrdt here, Yjs in the browser: the same schema), its JSON
shape (DESIGN.md §6 "Plans") and the edits the JSON API makes to it.

Root: the map "plan". The server makes the whole structure once, when the plan is created
(`new_document`): in a Y.Map the last writer of a key wins, so if two clients each created
a field, one person's text would be lost. Clients only edit inside the structure and push
new outcome and action maps.

    type              str: child_protection | child_in_need | early_help
    concerns, seen, services, contingency, child_voice, family_summary     Y.Text
    category_initial, category_latest      str, absent when not set (child protection)
    key_dates         Y.Map {strategy_discussion, initial_conference, first_core_group:
                      "YYYY-MM-DD" (absent when not set), reviews: Y.Array of "YYYY-MM-DD"}
    outcomes          Y.Array of Y.Map {id, text: Y.Text, actions: Y.Array of Y.Map
                      {id, text: Y.Text, owner_id?, due?, status, evidence: Y.Text}}

Any editor may write anything into the document (the policy decides who edits, not what
they write), so reading it (`to_json`) never trusts a type: a field of the wrong type
reads as blank, a malformed outcome or action is skipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any, TypeVar

from pycrdt import Array, Doc, Map, Text

ROOT = "plan"
TEXT_FIELDS = ("concerns", "seen", "services", "contingency", "child_voice", "family_summary")
DATE_FIELDS = ("strategy_discussion", "initial_conference", "first_core_group")
CATEGORIES = ("neglect", "physical", "sexual", "emotional", "multiple")
ACTION_STATUSES = ("not_started", "in_progress", "done", "not_done")
STATUS_WORDS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "done": "Done",
    "not_done": "Not done",
}
FIELD_LABELS = {
    "concerns": "Concerns",
    "seen": "When the child is seen (and seen alone)",
    "services": "Services",
    "contingency": "Contingency plan",
    "child_voice": "What the child said about the plan",
    "family_summary": "Summary for the family",
}
CHILD_PROTECTION = "child_protection"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_ID = 64
T = TypeVar("T")


class NoSuchItem(LookupError):
    """No outcome or action with that id in this plan."""


# --- the structure ------------------------------------------------------------------------


def new_document(plan_type: str) -> Doc[Any]:
    """A plan's whole structure, made once by the server when the plan is created."""
    doc: Doc[Any] = Doc()
    plan = root(doc)
    with doc.transaction():
        plan["type"] = plan_type
        for name in TEXT_FIELDS:
            plan[name] = Text()
        plan["key_dates"] = _new_key_dates()
        plan["outcomes"] = Array()
    return doc


def _new_key_dates() -> Map[Any]:
    return Map({"reviews": Array()})


def root(doc: Doc[Any]) -> Map[Any]:
    plan: Map[Any] = doc.get(ROOT, type=Map)
    return plan


# --- reading, whatever an editor wrote -----------------------------------------------------


def is_date(value: object) -> bool:
    """A real calendar date written YYYY-MM-DD (2027-02-30 is not one)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _text(value: object) -> str:
    return str(value) if isinstance(value, Text) else ""


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID else None


def _get(container: Map[Any], key: str) -> Any:
    try:
        return container.get(key)
    except Exception:  # a value pycrdt cannot read back (e.g. a subdocument)
        return None


def _maps(value: object) -> Iterator[Map[Any]]:
    if isinstance(value, Array):
        for item in value:
            if isinstance(item, Map):
                yield item


def plan_type_of(doc: Doc[Any]) -> str | None:
    value = _get(root(doc), "type")
    return value if isinstance(value, str) else None


def to_json(doc: Doc[Any], people: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The plan as DESIGN.md §6 shapes it. `people`: user id -> user JSON, for the
    owners of actions (an owner not in it reads as no owner)."""
    plan = root(doc)
    out: dict[str, Any] = {}
    if plan_type_of(doc) == CHILD_PROTECTION:
        out["category"] = {
            "initial": _category(_get(plan, "category_initial")),
            "latest": _category(_get(plan, "category_latest")),
        }
    out["concerns"] = _text(_get(plan, "concerns"))
    out["outcomes"] = _outcomes_json(plan, people)
    for name in TEXT_FIELDS[1:]:
        out[name] = _text(_get(plan, name))
    out["key_dates"] = _key_dates_json(_get(plan, "key_dates"))
    return out


def key_dates_json(doc: Doc[Any]) -> dict[str, Any]:
    """The plan's key dates alone (the chronology's deadlines), as `to_json` has them."""
    return _key_dates_json(_get(root(doc), "key_dates"))


def _category(value: object) -> str | None:
    return value if isinstance(value, str) and value in CATEGORIES else None


def _key_dates_json(key_dates: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(key_dates, Map):
        return out
    for name in DATE_FIELDS:
        value = _get(key_dates, name)
        if is_date(value):
            out[name] = value
    reviews = _get(key_dates, "reviews")
    if isinstance(reviews, Array):
        out["reviews"] = [d for d in reviews if is_date(d)]
    return out


def _outcomes_json(
    plan: Map[Any], people: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for outcome in _maps(_get(plan, "outcomes")):
        outcome_id = _id(_get(outcome, "id"))
        if outcome_id is None or outcome_id in seen:
            continue
        seen.add(outcome_id)
        actions = []
        for action in _maps(_get(outcome, "actions")):
            action_id = _id(_get(action, "id"))
            if action_id is None or action_id in seen:
                continue
            seen.add(action_id)
            actions.append(_action_json(action, action_id, people))
        outcomes.append(
            {"id": outcome_id, "text": _text(_get(outcome, "text")), "actions": actions}
        )
    return outcomes


def _action_json(
    action: Map[Any], action_id: str, people: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    owner_id = _get(action, "owner_id")
    due = _get(action, "due")
    status = _get(action, "status")
    return {
        "id": action_id,
        "text": _text(_get(action, "text")),
        "owner": dict(people[owner_id]) if isinstance(owner_id, str) and owner_id in people
        else None,
        "due": due if is_date(due) else None,
        "status": status if status in ACTION_STATUSES else "not_started",
        "evidence": _text(_get(action, "evidence")),
    }  # fmt: skip


def actions_of(plan_json: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every action of a plan's JSON, outcome by outcome."""
    for outcome in plan_json.get("outcomes", []):
        yield from outcome["actions"]


def find_action_json(plan_json: Mapping[str, Any], action_id: str) -> dict[str, Any]:
    for action in actions_of(plan_json):
        if action["id"] == action_id:
            return action
    raise NoSuchItem(action_id)


def find_outcome_json(plan_json: Mapping[str, Any], outcome_id: str) -> dict[str, Any]:
    for outcome in plan_json.get("outcomes", []):
        if outcome["id"] == outcome_id:
            return dict(outcome)
    raise NoSuchItem(outcome_id)


# --- edits the JSON API makes ------------------------------------------------------------


def edit(doc: Doc[Any], change: Callable[[Map[Any]], T]) -> tuple[T, bytes | None]:
    """Make `change` to the plan in one transaction: its result, and the Y update it made
    (None when it changed nothing), to store and send to open editors."""
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    try:
        with doc.transaction():
            result = change(root(doc))
    finally:
        doc.unobserve(subscription)
    update = updates[0] if updates and updates[0] != b"\x00\x00" else None
    return result, update


def replace_text(container: Map[Any], name: str, value: str) -> None:
    """Make a text field read `value`, changing only what differs (the common beginning
    and end are kept), so that someone typing elsewhere in it keeps their words."""
    text = _get(container, name)
    if not isinstance(text, Text):
        # Written over by a malformed update: the server puts the structure back.
        container[name] = Text(value)
        return
    old = str(text)
    if old == value:
        return
    start = 0
    limit = min(len(old), len(value))
    while start < limit and old[start] == value[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == value[-1 - end]:
        end += 1
    # pycrdt counts positions in a Text in UTF-8 bytes.
    at = len(old[:start].encode())
    old_end = len(old[: len(old) - end].encode())
    if old_end > at:
        del text[at:old_end]
    middle = value[start : len(value) - end]
    if middle:
        text.insert(at, middle)


def _structure(container: Map[Any], name: str, make: Callable[[], Any], kind: type) -> Any:
    value = _get(container, name)
    if not isinstance(value, kind):
        container[name] = make()
        value = container[name]
    return value


def key_dates(plan: Map[Any]) -> Map[Any]:
    found: Map[Any] = _structure(plan, "key_dates", _new_key_dates, Map)
    return found


def set_key_date(plan: Map[Any], name: str, value: str | None) -> None:
    dates = key_dates(plan)
    if value is None:
        if name in dates:
            del dates[name]
    elif _get(dates, name) != value:
        dates[name] = value


def set_reviews(plan: Map[Any], values: list[str]) -> None:
    reviews: Array[Any] = _structure(key_dates(plan), "reviews", Array, Array)
    if list(reviews) == values:
        return
    reviews.clear()
    reviews.extend(values)


def set_category(plan: Map[Any], which: str, value: str | None) -> None:
    key = f"category_{which}"
    if value is None:
        if key in plan:
            del plan[key]
    elif _get(plan, key) != value:
        plan[key] = value


def _outcomes(plan: Map[Any]) -> Array[Any]:
    found: Array[Any] = _structure(plan, "outcomes", Array, Array)
    return found


def add_outcome(plan: Map[Any], text: str) -> str:
    outcome_id = str(uuid.uuid4())
    _outcomes(plan).append(Map({"id": outcome_id, "text": Text(text), "actions": Array()}))
    return outcome_id


def _find(plan: Map[Any], item_id: str, *, action: bool) -> Map[Any]:
    for outcome in _maps(_get(plan, "outcomes")):
        if not action:
            if _get(outcome, "id") == item_id:
                return outcome
            continue
        for item in _maps(_get(outcome, "actions")):
            if _get(item, "id") == item_id:
                return item
    raise NoSuchItem(item_id)


def add_action(
    plan: Map[Any], outcome_id: str, text: str, owner_id: str | None, due: str | None
) -> str:
    outcome = _find(plan, outcome_id, action=False)
    actions: Array[Any] = _structure(outcome, "actions", Array, Array)
    action_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "id": action_id, "text": Text(text), "status": "not_started", "evidence": Text()
    }
    if owner_id is not None:
        fields["owner_id"] = owner_id
    if due is not None:
        fields["due"] = due
    actions.append(Map(fields))
    return action_id


UNSET: Any = object()


def update_action(
    plan: Map[Any],
    action_id: str,
    *,
    status: str = UNSET,
    evidence: str = UNSET,
    due: str | None = UNSET,
    owner_id: str | None = UNSET,
) -> None:
    """Change what is given; `None` clears a due date or an owner."""
    action = _find(plan, action_id, action=True)
    if status is not UNSET and _get(action, "status") != status:
        action["status"] = status
    if evidence is not UNSET:
        replace_text(action, "evidence", evidence)
    for key, value in (("due", due), ("owner_id", owner_id)):
        if value is UNSET:
            continue
        if value is None:
            if key in action:
                del action[key]
        elif _get(action, key) != value:
            action[key] = value
