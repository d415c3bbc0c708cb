"""What changed between two versions of a plan (issue #11, item 4): "Draft since version 3:
4 changes", and the side-by-side page that shows them.

Both sides are plan JSON (DESIGN.md §6). Outcomes and actions are matched by id, so a
reworded action is one changed action, not one removed and one added, and an action moved
to another outcome is still the same action. Text is compared word by word (difflib) so
the page can mark exactly the words added and removed; a change of spacing alone is not
a change. A plan is written by people through a CRDT, so nothing here trusts its shape:
missing or mistyped parts read as empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from workspace.services.plans import labels

Change = Literal["added", "removed", "changed", "same"]
Op = Literal["same", "added", "removed"]
ACTION_FIELDS: dict[str, str] = {
    "text": "Action",
    "owner": "Owner",
    "due": "Due",
    "status": "Status",
    "evidence": "Evidence of impact",
    "outcome": "Outcome",
}
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Segment:
    """A run of words that both sides share, or that one side added or removed."""

    text: str
    op: Op


@dataclass(frozen=True)
class TextDiff:
    """One free-text part (the concerns, an outcome, an action's wording), word by word."""

    key: str
    label: str
    old: str
    new: str
    segments: tuple[Segment, ...]

    @property
    def changed(self) -> bool:
        return self.old.split() != self.new.split()


@dataclass(frozen=True)
class FieldChange:
    """One part of an action, a key date or a category: old and new, in words."""

    key: str
    label: str
    old: str
    new: str
    changed: bool = True
    segments: tuple[Segment, ...] = ()  # for text: the words added and removed


@dataclass(frozen=True)
class ActionDiff:
    id: str
    change: Change
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    text: TextDiff
    fields: tuple[FieldChange, ...]  # what changed (a changed action only)

    @property
    def action(self) -> dict[str, Any]:
        """The action as it now is (as it was, for a removed one)."""
        return self.new if self.new is not None else self.old or {}


@dataclass(frozen=True)
class OutcomeDiff:
    id: str
    change: Change  # "changed": its own words changed (see `touched` for its actions)
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    text: TextDiff
    actions: tuple[ActionDiff, ...]

    @property
    def touched(self) -> bool:
        return self.change != "same" or any(a.change != "same" for a in self.actions)


@dataclass(frozen=True)
class PlanDiff:
    texts: tuple[TextDiff, ...]  # every free-text part, in document order
    outcomes: tuple[OutcomeDiff, ...]  # both sides' outcomes, interleaved
    key_dates: tuple[FieldChange, ...]  # every key date set on either side
    category: tuple[FieldChange, ...]  # initial and latest, when either side has one

    def actions(self) -> Iterator[ActionDiff]:
        for outcome in self.outcomes:
            yield from outcome.actions


# --- words ----------------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    """(word, the word with the spacing after it), so a diff keeps the line breaks."""
    found = list(_WORD.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)] if found else []
    return [(m.group(), text[m.start() : end]) for m, end in zip(found, ends, strict=True)]


def _append(out: list[Segment], text: str, op: Op) -> None:
    if not text:
        return
    if out and out[-1].op != op and not out[-1].text[-1:].isspace() and not text[:1].isspace():
        # Differently marked words meet where one side had the last word of the text:
        # keep them apart, or "the dog" -> "the" would read "thedog".
        _append(out, " ", "same")
    if out and out[-1].op == op:
        out[-1] = Segment(out[-1].text + text, op)
    else:
        out.append(Segment(text, op))


def _mark(out: list[Segment], text: str, op: Op) -> None:
    """Added or removed words, their trailing spacing unmarked (no underlined gaps)."""
    words = text.rstrip()
    _append(out, words, op)
    _append(out, text[len(words) :], "same")


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    a, b = _tokens(old), _tokens(new)
    # autojunk off: in a long text common words would otherwise be ignored as noise.
    matcher = SequenceMatcher(None, [w for w, _ in a], [w for w, _ in b], autojunk=False)
    out: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(out, "".join(s for _, s in b[j1:j2]), "same")
            continue
        _mark(out, "".join(s for _, s in a[i1:i2]), "removed")
        _mark(out, "".join(s for _, s in b[j1:j2]), "added")
    return tuple(out)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def text_diff(key: str, label: str, old: Any, new: Any) -> TextDiff:
    before, after = _text(old), _text(new)
    return TextDiff(key, label, before, after, word_diff(before, after))


# --- reading a plan whatever its shape ------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _key(item: dict[str, Any], position: str) -> str:
    """Its id; an item without one (garbage) can only be matched by position."""
    found = item.get("id")
    return found if isinstance(found, str) and found else f"position {position}"


def _keyed(items: list[dict[str, Any]], under: str = "") -> list[tuple[str, dict[str, Any]]]:
    return [(_key(item, f"{under}{i}"), item) for i, item in enumerate(items)]


def _actions_of(key: str, outcome: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    return _keyed(_list((outcome or {}).get("actions")), under=f"{key}/")


def _interleave(old: list[str], new: list[str]) -> list[str]:
    """Both sides' ids in one order: the new order, each removed one where it used to be."""
    kept = set(new)
    order: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            order += [k for k in old[i1:i2] if k not in kept and k not in order]
        order += [k for k in new[j1:j2] if k not in order]
    return order


# --- actions and outcomes -------------------------------------------------------------------


def _owner_id(action: dict[str, Any]) -> Any:
    return _dict(action.get("owner")).get("id")


def _due(value: Any) -> str:
    return labels.long_date(value) or "No due date"


def _outcome_words(outcome: dict[str, Any] | None) -> str:
    words = " ".join(_text((outcome or {}).get("text")).split())
    return words if len(words) <= 80 else words[:79].rstrip() + "…"


def _action_fields(
    old: dict[str, Any], new: dict[str, Any], moved: tuple[dict[str, Any], dict[str, Any]] | None
) -> tuple[FieldChange, ...]:
    fields: list[FieldChange] = []
    for key in ("text", "evidence"):
        diff = text_diff(key, ACTION_FIELDS[key], old.get(key), new.get(key))
        if diff.changed:
            fields.append(FieldChange(key, diff.label, diff.old, diff.new, True, diff.segments))
    if _owner_id(old) != _owner_id(new):
        owners = labels.owner(old.get("owner")), labels.owner(new.get("owner"))
        fields.append(FieldChange("owner", ACTION_FIELDS["owner"], *owners))
    if (old.get("due") or None) != (new.get("due") or None):
        fields.append(FieldChange("due", ACTION_FIELDS["due"], _due(old.get("due")),
                                  _due(new.get("due"))))  # fmt: skip
    if old.get("status") != new.get("status"):
        statuses = labels.status(old.get("status")), labels.status(new.get("status"))
        fields.append(FieldChange("status", ACTION_FIELDS["status"], *statuses))
    if moved is not None:
        was, now = (_outcome_words(o) for o in moved)
        fields.append(FieldChange("outcome", ACTION_FIELDS["outcome"], was, now))
    order = list(ACTION_FIELDS)
    return tuple(sorted(fields, key=lambda f: order.index(f.key)))


def _action_diff(
    key: str,
    old: tuple[dict[str, Any], dict[str, Any]] | None,
    new: tuple[dict[str, Any], dict[str, Any]] | None,
) -> ActionDiff:
    """`old`/`new`: (action, the outcome it is under) on each side."""
    before, after = (old[0] if old else None), (new[0] if new else None)
    text = text_diff("text", ACTION_FIELDS["text"], (before or {}).get("text"),
                     (after or {}).get("text"))  # fmt: skip
    if before is None or after is None:
        return ActionDiff(key, "added" if before is None else "removed", before, after, text, ())
    assert old is not None and new is not None
    moved = None
    if old[1].get("id") != new[1].get("id"):
        moved = (old[1], new[1])
    fields = _action_fields(before, after, moved)
    return ActionDiff(key, "changed" if fields else "same", before, after, text, fields)


def _outcomes(old_plan: dict[str, Any], new_plan: dict[str, Any]) -> tuple[OutcomeDiff, ...]:
    old_outcomes = _keyed(_list(old_plan.get("outcomes")))
    new_outcomes = _keyed(_list(new_plan.get("outcomes")))
    # Actions are matched across the whole plan: one moved to another outcome is not new.
    old_actions = {k: (a, o) for ok, o in old_outcomes for k, a in _actions_of(ok, o)}
    new_actions = {k: (a, o) for ok, o in new_outcomes for k, a in _actions_of(ok, o)}
    olds, news = dict(old_outcomes), dict(new_outcomes)
    found: list[OutcomeDiff] = []
    for key in _interleave([k for k, _ in old_outcomes], [k for k, _ in new_outcomes]):
        before, after = olds.get(key), news.get(key)
        # Under this outcome: the actions it has now, and those removed from it.
        mine_before = [k for k, _ in _actions_of(key, before)]
        mine_after = [k for k, _ in _actions_of(key, after)]
        shown = [k for k in _interleave(mine_before, mine_after)
                 if k in mine_after or k not in new_actions]  # fmt: skip
        actions = tuple(_action_diff(k, old_actions.get(k), new_actions.get(k)) for k in shown)
        text = text_diff("text", "Outcome", (before or {}).get("text"), (after or {}).get("text"))
        change: Change = "changed" if text.changed else "same"
        if before is None or after is None:
            change = "added" if before is None else "removed"
        found.append(OutcomeDiff(key, change, before, after, text, actions))
    return tuple(found)


# --- key dates and category -----------------------------------------------------------------


def _key_dates(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    found = []
    for key, label in labels.KEY_DATES.items():
        before, after = old.get(key) or None, new.get(key) or None
        if before is None and after is None:
            continue
        if key == "reviews":
            words = labels.dates(before), labels.dates(after)
        else:
            words = labels.long_date(before) or "Not set", labels.long_date(after) or "Not set"
        found.append(FieldChange(key, label, *words, changed=before != after))
    return tuple(found)


def _category(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    found = []
    for key, label in labels.CATEGORY_PARTS.items():
        before, after = old.get(key) or None, new.get(key) or None
        if before is None and after is None:
            continue
        words = labels.category(before), labels.category(after)
        found.append(FieldChange(key, label, *words, changed=before != after))
    return tuple(found)


# --- the diff, and counting it --------------------------------------------------------------


def compare(a: dict[str, Any], b: dict[str, Any]) -> PlanDiff:
    """What changed from plan `a` (the earlier) to plan `b`."""
    old, new = _dict(a), _dict(b)
    texts = tuple(
        text_diff(key, label, old.get(key), new.get(key))
        for key, label in labels.TEXT_FIELDS.items()
    )
    return PlanDiff(
        texts=texts,
        outcomes=_outcomes(old, new),
        key_dates=_key_dates(_dict(old.get("key_dates")), _dict(new.get("key_dates"))),
        category=_category(_dict(old.get("category")), _dict(new.get("category"))),
    )


def changes(diff: PlanDiff) -> int:
    """As people count them: one per changed part of the plan, per outcome or action added
    or removed, per reworded outcome, and per changed part of an action (its wording,
    owner, due date, status, evidence, or the outcome it is under)."""
    count = sum(t.changed for t in diff.texts)
    count += sum(f.changed for f in (*diff.key_dates, *diff.category))
    for outcome in diff.outcomes:
        count += outcome.change != "same"
        for action in outcome.actions:
            count += len(action.fields) if action.change == "changed" else action.change != "same"
    return count


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe(diff: PlanDiff) -> list[str]:
    """What the changes are, in words that add up to `changes(diff)`."""
    parts: list[str] = []
    texts = [labels.TEXT_NOUNS[t.key] for t in diff.texts if t.changed]
    if texts:
        parts.append(f"{_and(texts)} changed")
    outcomes: list[str] = [o.change for o in diff.outcomes]
    for change, word in (("added", "added"), ("removed", "removed"), ("changed", "reworded")):
        if n := outcomes.count(change):
            parts.append(f"{_counted(n, 'outcome', 'outcomes')} {word}")
    actions = list(diff.actions())
    for change in ("added", "removed"):
        if n := sum(a.change == change for a in actions):
            parts.append(f"{_counted(n, 'action', 'actions')} {change}")
    fields = [f.key for a in actions for f in a.fields]
    wording = {
        "text": ("{n} action reworded", "{n} actions reworded"),
        "owner": ("{n} owner changed", "{n} owners changed"),
        "due": ("{n} due date changed", "{n} due dates changed"),
        "status": ("{n} status changed", "{n} statuses changed"),
        "evidence": ("evidence of impact updated on {n} action",
                     "evidence of impact updated on {n} actions"),
        "outcome": ("{n} action moved to another outcome", "{n} actions moved to other outcomes"),
    }  # fmt: skip
    for key, (one, many) in wording.items():
        if n := fields.count(key):
            parts.append((one if n == 1 else many).format(n=n))
    if n := sum(f.changed for f in diff.key_dates):
        parts.append(_counted(n, "key date changed", "key dates changed"))
    if n := sum(f.changed for f in diff.category):
        parts.append(_counted(n, "category changed", "categories changed"))
    return parts


def sentence(diff: PlanDiff, since: int) -> str:
    """The plan page's line: Draft since version 3: 4 changes (concerns changed, …)."""
    n = changes(diff)
    if n == 0:
        return f"Draft since version {since}: no changes."
    what = ", ".join(describe(diff))
    return f"Draft since version {since}: {_counted(n, 'change', 'changes')} ({what})."
