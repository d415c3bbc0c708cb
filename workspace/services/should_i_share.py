""""Should I share?" (issue #15 item 2): a guided dialogue through the seven golden rules
that ends in a recommendation, and records every step as a sharing decision (golden rule
7) naming the version of the guidance it followed.

The questions, answers, guidance and outcomes are data: `policy/should_i_share.toml` (or
the file `CASEROOM_SHARING_GUIDANCE` names), read again whenever it changes, so an
information-governance lead changes the dialogue without touching Python. It is checked
when read: every `next` names a question, every `outcome` an outcome, and every route
ends.

Nothing is recorded while someone walks through it: the answers so far travel with the
page (a bookmarkable query string, checked against the file at every step, so a changed
file or a forged answer starts them again). Recording the outcome writes one
SharingDecision with each question, answer and the guidance shown.
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom
from workspace.errors import Invalid
from workspace.models import Organisation, SharingDecision
from workspace.schemas import Strict
from workspace.services import sharing

BY_CONSENT = "by_consent"  # "share" with consent given, "share_without_consent" otherwise
CONSENTS = ("given", "refused", "not_sought")
LAWFUL_BASES = ("public_task", "legal_obligation", "safeguarding")
AUDIT = "sharing_dialogue"


@dataclass(frozen=True)
class Answer:
    value: str
    label: str
    next: str | None = None
    outcome: str | None = None
    guidance: str | None = None
    consent: str | None = None
    consent_reason: str | None = None
    lawful_basis: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    rule: int
    text: str
    guidance: str
    answers: tuple[Answer, ...]

    def answer(self, value: str) -> Answer | None:
        return next((a for a in self.answers if a.value == value), None)


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    decision: str  # "share" or "not_share"
    advice: str


@dataclass(frozen=True)
class Guidance:
    version: str
    title: str
    start: str
    questions: dict[str, Question]
    outcomes: dict[str, Outcome]


class GuidanceError(ValueError):
    """The guidance file cannot be used (what is wrong, and where)."""


def parse(text: str) -> Guidance:
    try:
        raw = tomllib.loads(text)
        questions = {q["id"]: _question(q) for q in raw["questions"]}
        outcomes = {
            key: Outcome(key, o["label"], o["decision"], o["advice"])
            for key, o in raw["outcomes"].items()
        }
        guidance = Guidance(str(raw["version"]), raw["title"], raw["start"], questions, outcomes)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise GuidanceError(f"The sharing guidance cannot be read: {exc}") from exc
    _check(guidance)
    return guidance


def _question(raw: dict[str, Any]) -> Question:
    answers = tuple(Answer(**a) for a in raw["answers"])
    return Question(raw["id"], int(raw.get("rule", 0)), raw["text"], raw.get("guidance", ""),
                    answers)  # fmt: skip


def _check(g: Guidance) -> None:
    if g.start not in g.questions:
        raise GuidanceError(f"start names no question: {g.start}")
    for q in g.questions.values():
        if not q.answers or len({a.value for a in q.answers}) != len(q.answers):
            raise GuidanceError(f"question {q.id}: answers missing or repeated")
        for a in q.answers:
            if (a.next is None) == (a.outcome is None):
                raise GuidanceError(f"question {q.id}, answer {a.value}: next or outcome")
            if a.next is not None and a.next not in g.questions:
                raise GuidanceError(f"question {q.id}, answer {a.value}: no question {a.next}")
            if a.outcome is not None and a.outcome not in (*g.outcomes, BY_CONSENT):
                raise GuidanceError(f"question {q.id}, answer {a.value}: no outcome {a.outcome}")
            if a.consent is not None and a.consent not in CONSENTS:
                raise GuidanceError(f"question {q.id}, answer {a.value}: consent {a.consent}")
            if a.lawful_basis is not None and a.lawful_basis not in LAWFUL_BASES:
                raise GuidanceError(f"question {q.id}, answer {a.value}: {a.lawful_basis}")
    for o in g.outcomes.values():
        if o.decision not in ("share", "not_share"):
            raise GuidanceError(f"outcome {o.key}: decision is share or not_share")
    if BY_CONSENT in {a.outcome for q in g.questions.values() for a in q.answers} and not {
        "share", "share_without_consent"
    } <= set(g.outcomes):
        raise GuidanceError("by_consent needs the outcomes share and share_without_consent")
    _no_loops(g, g.start, ())


def _no_loops(g: Guidance, at: str, seen: tuple[str, ...]) -> None:
    if at in seen:
        raise GuidanceError(f"the questions go round in a circle at {at}")
    for a in g.questions[at].answers:
        if a.next is not None:
            _no_loops(g, a.next, (*seen, at))


_cache: dict[Path, tuple[float, Guidance]] = {}
_lock = threading.Lock()


def load(path: Path) -> Guidance:
    """The guidance in `path`, read again when the file changes."""
    stamp = path.stat().st_mtime
    with _lock:
        kept = _cache.get(path)
        if kept is None or kept[0] != stamp:
            kept = (stamp, parse(path.read_text(encoding="utf-8")))
            _cache[path] = kept
        return kept[1]


# --- walking it ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    question: Question
    answer: Answer


@dataclass(frozen=True)
class Walk:
    guidance: Guidance
    steps: tuple[Step, ...]
    current: Question | None  # None once an outcome is reached
    outcome: Outcome | None
    consent: str
    consent_reason: str | None
    lawful_basis: str

    def query(self) -> list[tuple[str, str]]:
        """The answers so far as query parameters (`a=question:answer`, in order)."""
        return [("a", f"{s.question.id}:{s.answer.value}") for s in self.steps]


def walk(guidance: Guidance, answers: Sequence[str]) -> Walk:
    """Follow `answers` ("question:answer", in order) from the start. Anything that is not
    the next question, or not one of its answers, is refused: start again."""
    at: Question | None = guidance.questions[guidance.start]
    steps: list[Step] = []
    consent, reason, basis, outcome = "not_sought", None, "", None
    for given in answers:
        question_id, _, value = given.partition(":")
        answer = at.answer(value) if at is not None and at.id == question_id else None
        if at is None or answer is None:
            raise Invalid(
                "These answers do not follow the questions (the guidance may have changed "
                "since): start again.",
                fields={"a": "does not follow the questions"},
            )
        steps.append(Step(at, answer))
        consent = answer.consent or consent
        reason = answer.consent_reason or reason
        basis = answer.lawful_basis or basis
        if answer.outcome is not None:
            key = answer.outcome
            if key == BY_CONSENT:
                key = "share" if consent == "given" else "share_without_consent"
            outcome, at = guidance.outcomes[key], None
        else:
            at = guidance.questions[answer.next or ""]
    if consent == "given":
        reason = None
    return Walk(guidance, tuple(steps), at, outcome, consent, reason, basis)


def start(access: Access, room_id: str, answers: Sequence[str]) -> tuple[LoadedRoom, Walk]:
    """The dialogue in a room, for someone who may record its sharing decisions."""
    room = access.room(room_id, "record_sharing_decision", audit_as=AUDIT)
    return room, walk(load(access.app.settings.sharing_guidance), answers)


def before_a_concern(access: Access, answers: Sequence[str]) -> Walk:
    """The dialogue outside a room, before raising a concern (anyone who may raise one):
    its answers go with the concern (`kept_for_concern`)."""
    access.require_workspace("raise_concern", conceal=True, audit_as=AUDIT)
    return walk(load(access.app.settings.sharing_guidance), answers)


def kept_for_concern(access: Access, answers: Sequence[str]) -> tuple[str, str] | None:
    """A finished dialogue's guidance version and transcript, for a concern to carry into
    the room it reaches (None when no dialogue came with it)."""
    if not answers:
        return None
    try:
        done = walk(load(access.app.settings.sharing_guidance), answers)
    except Invalid as exc:
        raise Invalid(exc.message, fields={"should_i_share": "start the dialogue again"}) from exc
    if done.outcome is None:
        raise Invalid(
            "Finish \"Should I share?\" or raise the concern without it.",
            fields={"should_i_share": "the dialogue is not finished"},
        )
    return done.guidance.version, json.dumps(transcript(done), ensure_ascii=False)


def decision_for_concern(
    room: LoadedRoom, reporter_id: str, what: str, item_id: str, version: str, dialogue: str,
    decided_at: datetime,
) -> SharingDecision:  # fmt: skip
    """The reporter's decision to share the concern, as the dialogue recorded it."""
    kept = json.loads(dialogue)
    return SharingDecision(
        room_id=room.room.id, decided_by_id=reporter_id, decision="share", what=what,
        item_id=item_id, purpose=f"Raised a concern: {kept['recommendation']}",
        lawful_basis=kept.get("lawful_basis") or "safeguarding", consent=kept["consent"],
        consent_reason=kept["reason"], guidance_version=version, dialogue=dialogue,
        created_at=decided_at,
    )  # fmt: skip


def organisations(access: Access) -> list[Organisation]:
    """Whom a decision may name (the directory of organisations: no case data)."""
    return list(access.session.exec(select(Organisation).order_by(col(Organisation.name))))


# --- recording the outcome ----------------------------------------------------------------

What = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RecordIn(Strict):
    """What the decision is about: the dialogue never asks for the child's name."""

    what: What
    purpose: Purpose
    with_organisation: Annotated[str, StringConstraints(max_length=36)] | None = None


def record(
    access: Access, room_id: str, answers: Sequence[str], data: RecordIn
) -> SharingDecision:
    room, done = start(access, room_id, answers)
    if done.outcome is None:
        raise Invalid(
            "Answer every question before recording the decision.",
            fields={"a": "the dialogue is not finished"},
        )
    decision = SharingDecision(
        room_id=room.room.id,
        decided_by_id=access.require_user().id,
        decision=done.outcome.decision,
        what=data.what,
        with_organisation_id=sharing.organisation_named(access, data.with_organisation),
        purpose=data.purpose,
        lawful_basis=done.lawful_basis,
        consent=done.consent,
        consent_reason=done.consent_reason,
        guidance_version=done.guidance.version,
        dialogue=json.dumps(transcript(done), ensure_ascii=False),
        created_at=access.now,
    )
    return sharing.recorded(
        access, room, decision, f"{done.outcome.label} (guidance {done.guidance.version})"
    )


def transcript(done: Walk) -> dict[str, Any]:
    """Every step as it was shown and answered, and the recommendation."""
    assert done.outcome is not None
    return {
        "guidance_version": done.guidance.version,
        "steps": [
            {
                "question": s.question.id,
                "rule": s.question.rule,
                "text": s.question.text,
                "answer": s.answer.value,
                "label": s.answer.label,
                "guidance": s.answer.guidance or s.question.guidance,
            }
            for s in done.steps
        ],
        "outcome": done.outcome.key,
        "recommendation": done.outcome.label,
        "decision": done.outcome.decision,
        "consent": done.consent,
        "reason": done.consent_reason,
        "lawful_basis": done.lawful_basis,
    }
