"""Comparing two versions of a plan (issue #11, item 4): members see "Draft since version
3: 4 changes" and what was added, removed and changed. Outcomes and actions are matched by
id, text word by word; the count is one per thing a person would call a change."""

from __future__ import annotations

import copy
from typing import Any

from workspace.services.plans.compare import (
    Segment,
    changes,
    compare,
    describe,
    sentence,
    word_diff,
)

SCHOOL = {"id": "o-school", "name": "Oakfield Primary", "kind": "education"}
NHS = {"id": "o-nhs", "name": "Northshire NHS", "kind": "health"}
DAN = {"id": "u-dan", "name": "Dan Hughes", "email": "dan@oakfield.example", "organisation": SCHOOL}
HANA = {"id": "u-hana", "name": "Hana Kowalski", "email": "hana@nhs.example", "organisation": NHS}


def action(aid: str, text: str, **fields: Any) -> dict[str, Any]:
    return {"id": aid, "text": text, "owner": None, "due": None, "status": "not_started",
            "evidence": "", **fields}  # fmt: skip


def plan(**parts: Any) -> dict[str, Any]:
    """A plan in the §6 shape: empty parts unless given."""
    base: dict[str, Any] = {
        "concerns": "", "outcomes": [], "seen": "", "services": "", "contingency": "",
        "child_voice": "", "family_summary": "", "key_dates": {},
    }  # fmt: skip
    return {**base, **parts}


def version_3() -> dict[str, Any]:
    return plan(
        concerns="Jamie has missed school and mum's new partner is violent.",
        outcomes=[
            {"id": "o-school", "text": "Jamie attends school every day.", "actions": [
                action("a-walk", "Walk Jamie to school", owner=DAN, due="2027-01-13"),
                action("a-meet", "Meet mum about attendance", owner=DAN, status="in_progress"),
            ]},
            {"id": "o-safe", "text": "Jamie is safe at home.", "actions": [
                action("a-visit", "Home visit every week", owner=HANA),
            ]},
        ],
        key_dates={"strategy_discussion": "2026-11-02", "initial_conference": "2026-11-23"},
        category={"initial": "neglect", "latest": "neglect"},
    )  # fmt: skip


def test_the_same_plan_has_no_changes() -> None:
    diff = compare(version_3(), version_3())
    assert changes(diff) == 0
    assert sentence(diff, since=3) == "Draft since version 3: no changes."
    assert not any(t.changed for t in diff.texts)
    assert {o.change for o in diff.outcomes} == {"same"}
    assert {a.change for a in diff.actions()} == {"same"}


def test_a_changed_text_field_marks_the_words_added_and_removed() -> None:
    draft = version_3()
    draft["concerns"] = "Jamie has missed school and mum's partner is violent and drinks."
    diff = compare(version_3(), draft)
    concerns = diff.texts[0]
    assert (concerns.label, concerns.changed) == ("Concerns", True)
    assert [s for s in concerns.segments if s.op != "same"] == [
        Segment("new", "removed"), Segment("violent.", "removed"),
        Segment("violent and drinks.", "added"),
    ]  # fmt: skip
    # Every other part is listed as unchanged, in the plan's order.
    assert [(t.label, t.changed) for t in diff.texts[1:]] == [
        ("When the child was seen", False), ("Services", False), ("Contingency plan", False),
        ("What the child said", False), ("For the family", False),
    ]  # fmt: skip
    assert changes(diff) == 1


def test_word_diffs_keep_the_spacing_and_line_breaks_and_ignore_a_change_of_spacing() -> None:
    assert word_diff("the dog sat", "the cat sat") == (
        Segment("the ", "same"), Segment("dog", "removed"), Segment(" ", "same"),
        Segment("cat", "added"), Segment(" sat", "same"),
    )  # fmt: skip
    assert word_diff("the dog", "the") == (Segment("the ", "same"), Segment("dog", "removed"))
    assert "".join(s.text for s in word_diff("a\n\nb", "a\n\nb c") if s.op != "removed") == (
        "a\n\nb c"
    )
    draft = version_3()
    draft["concerns"] = "Jamie  has missed school\nand mum's new partner is violent. "
    assert changes(compare(version_3(), draft)) == 0


def test_outcomes_are_matched_by_id_so_reordering_is_not_a_change() -> None:
    draft = version_3()
    draft["outcomes"].reverse()
    assert changes(compare(version_3(), draft)) == 0


def test_outcomes_added_removed_and_reworded() -> None:
    draft = version_3()
    safe = draft["outcomes"].pop(1)  # removed, with its one action
    draft["outcomes"][0]["text"] = "Jamie attends school every day and on time."
    draft["outcomes"].append({"id": "o-voice", "text": "Jamie is heard.", "actions": []})
    diff = compare(version_3(), draft)
    assert [(o.id, o.change) for o in diff.outcomes] == [
        ("o-school", "changed"), ("o-safe", "removed"), ("o-voice", "added"),
    ]  # fmt: skip
    removed = diff.outcomes[1]
    assert removed.old == safe and removed.new is None
    assert [(a.id, a.change) for a in removed.actions] == [("a-visit", "removed")]
    assert changes(diff) == 4  # reworded, removed, its action removed, added
    assert describe(diff) == [
        "1 outcome added", "1 outcome removed", "1 outcome reworded", "1 action removed",
    ]  # fmt: skip


def test_a_changed_action_says_which_parts_changed_old_and_new_in_words() -> None:
    draft = version_3()
    walk = draft["outcomes"][0]["actions"][0]
    walk.update(owner=HANA, due="2027-01-20", status="done",
                evidence="Attendance up from 80% to 97%.")  # fmt: skip
    diff = compare(version_3(), draft)
    [changed] = [a for a in diff.actions() if a.change == "changed"]
    assert changed.id == "a-walk"
    assert [(f.label, f.old, f.new) for f in changed.fields] == [
        ("Owner", "Dan Hughes (Oakfield Primary)", "Hana Kowalski (Northshire NHS)"),
        ("Due", "Wednesday 13 January 2027", "Wednesday 20 January 2027"),
        ("Status", "Not started", "Done"),
        ("Evidence of impact", "", "Attendance up from 80% to 97%."),
    ]
    evidence = changed.fields[-1]
    assert evidence.segments == (Segment("Attendance up from 80% to 97%.", "added"),)
    assert changes(diff) == 4
    assert sentence(diff, since=3) == (
        "Draft since version 3: 4 changes (1 owner changed, 1 due date changed, "
        "1 status changed, evidence of impact updated on 1 action)."
    )


def test_an_action_moved_to_another_outcome_is_the_same_action() -> None:
    draft = version_3()
    meet = draft["outcomes"][0]["actions"].pop(1)
    draft["outcomes"][1]["actions"].append(meet)
    diff = compare(version_3(), draft)
    school, safe = diff.outcomes
    assert [a.id for a in school.actions] == ["a-walk"]  # not shown as removed there
    moved = safe.actions[-1]
    assert (moved.id, moved.change) == ("a-meet", "changed")
    assert [(f.key, f.old, f.new) for f in moved.fields] == [
        ("outcome", "Jamie attends school every day.", "Jamie is safe at home."),
    ]
    assert changes(diff) == 1


def test_actions_added_and_removed_by_id_and_a_reworded_action() -> None:
    draft = version_3()
    actions = draft["outcomes"][0]["actions"]
    actions[0]["text"] = "Walk Jamie to school each morning"
    del actions[1]
    actions.append(action("a-club", "Breakfast club place", owner=DAN))
    diff = compare(version_3(), draft)
    school = diff.outcomes[0]
    assert (school.change, school.touched) == ("same", True)
    assert [(a.id, a.change) for a in school.actions] == [
        ("a-walk", "changed"), ("a-meet", "removed"), ("a-club", "added"),
    ]  # fmt: skip
    walk = school.actions[0]
    assert [f.key for f in walk.fields] == ["text"]
    assert [s for s in walk.fields[0].segments if s.op != "same"] == [
        Segment("each morning", "added"),
    ]
    assert changes(diff) == 3
    assert sentence(diff, since=2) == (
        "Draft since version 2: 3 changes (1 action added, 1 action removed, 1 action reworded)."
    )


def test_key_dates_and_category() -> None:
    draft = version_3()
    draft["key_dates"] = {"strategy_discussion": "2026-11-02", "initial_conference": "2026-11-24",
                          "reviews": ["2027-02-23"]}  # fmt: skip
    draft["category"] = {"initial": "neglect", "latest": "emotional"}
    diff = compare(version_3(), draft)
    assert [(f.label, f.old, f.new, f.changed) for f in diff.key_dates] == [
        ("Strategy discussion", "Monday 2 November 2026", "Monday 2 November 2026", False),
        ("Initial conference", "Monday 23 November 2026", "Tuesday 24 November 2026", True),
        ("Reviews", "None set", "Tuesday 23 February 2027", True),
    ]
    assert [(f.label, f.old, f.new, f.changed) for f in diff.category] == [
        ("Initial category", "Neglect", "Neglect", False),
        ("Latest category", "Neglect", "Emotional abuse", True),
    ]
    assert changes(diff) == 3
    assert describe(diff) == ["2 key dates changed", "1 category changed"]


def test_the_sentence_for_the_plan_page_adds_up() -> None:
    draft = version_3()
    draft["concerns"] += " Police were called on 1 December."
    draft["contingency"] = "If mum's partner returns, a strategy discussion is held."
    draft["outcomes"][0]["actions"][1]["status"] = "done"
    draft["outcomes"][1]["actions"].append(action("a-gp", "GP appointment", owner=HANA))
    diff = compare(version_3(), draft)
    assert changes(diff) == 4
    assert sentence(diff, since=3) == (
        "Draft since version 3: 4 changes (concerns and contingency plan changed, "
        "1 action added, 1 status changed)."
    )
    one = compare(version_3(), {**version_3(), "services": "Family support worker"})
    assert sentence(one, since=1) == "Draft since version 1: 1 change (services changed)."


def test_whatever_an_editor_wrote_the_comparison_does_not_fail() -> None:
    garbage: dict[str, Any] = {
        "concerns": 7, "outcomes": [None, "x", {"text": ["no"], "actions": "no"},
                                    {"id": 3, "actions": [{"status": None}, 5]}],
        "key_dates": ["2026-01-01"], "category": "neglect",
    }  # fmt: skip
    diff = compare(version_3(), garbage)
    assert changes(diff) > 0
    assert changes(compare(garbage, copy.deepcopy(garbage))) == 0
    assert changes(compare({}, {})) == 0
    assert sentence(compare(garbage, version_3()), since=1).startswith("Draft since version 1:")
