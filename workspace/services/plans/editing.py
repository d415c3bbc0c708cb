"""Changing a plan: the JSON API's edits (for systems that do not speak Yjs) and the Yjs
updates of editors' sockets. Either way the change is a Y update, appended in the unit of
work (acknowledged only once committed) and sent to every open editor (`PlanUpdated`).

Who edits is the policy's `edit_plan` (lead and members, room open). Edits are audited
once per person per editing session: one API call, or a socket's plan:join..leave.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pycrdt import Doc, Map, create_update_message

from workspace.access import Access, LoadedRoom
from workspace.errors import Invalid, NotFound
from workspace.events import PlanUpdated
from workspace.models import User
from workspace.services.plans import document, store
from workspace.services.plans.inputs import ActionIn, ActionPatchIn, OutcomeIn, PlanPatchIn
from workspace.services.plans.reading import opened
from workspace.services.plans.views import people_of, plan_target

T = TypeVar("T")


def _commit(access: Access, room: LoadedRoom, update: bytes, skip_sid: str | None = None) -> int:
    """Append an update and tell open editors (after commit)."""
    user = access.require_user()
    seq = store.append(
        access.session, access.app.keys, room.room.id, update, user.id, access.now
    )
    access.emit(PlanUpdated(room.room.id, create_update_message(update), skip_sid))
    return seq


def _edit(
    access: Access, room: LoadedRoom, change: Callable[[Map[Any]], T]
) -> tuple[T, Doc[Any]]:
    stored = opened(access, room)
    result, update = document.edit(stored.doc, change)
    if update is not None:
        _commit(access, room, update)
    return result, stored.doc


def _check_owner(access: Access, room: LoadedRoom, owner_id: str | None) -> None:
    """An action's owner is someone who works the plan: the lead or a member."""
    if owner_id is None:
        return
    owner = access.session.get(User, owner_id)
    if owner is None or not access.user_may(owner, "edit_plan", room.fact):
        raise Invalid(
            "The owner of an action must be the lead or a member of this room.",
            fields={"owner_id": "not the lead or a member of this room"},
        )


# --- the JSON API ----------------------------------------------------------------------


def patch_plan(access: Access, room_id: str, data: PlanPatchIn) -> dict[str, Any]:
    """Key dates, category and text fields (each text replaced whole); the draft after."""
    loaded = access.room(room_id, "edit_plan")
    if data.category is not None and loaded.room.plan_type != document.CHILD_PROTECTION:
        raise Invalid(
            "Only a child protection plan records a category.",
            fields={"category": "only for a child protection plan"},
        )
    given = data.model_fields_set

    def change(plan: Map[Any]) -> None:
        for name in document.TEXT_FIELDS:
            if name in given:  # null empties it
                document.replace_text(plan, name, getattr(data, name) or "")
        if data.key_dates is not None:
            dates = data.key_dates
            for name in document.DATE_FIELDS:
                if name in dates.model_fields_set:
                    document.set_key_date(plan, name, getattr(dates, name))
            if "reviews" in dates.model_fields_set:
                document.set_reviews(plan, list(dates.reviews or []))
        if data.category is not None:
            for which in ("initial", "latest"):
                if which in data.category.model_fields_set:
                    document.set_category(plan, which, getattr(data.category, which))

    _, doc = _edit(access, loaded, change)
    return document.to_json(doc, people_of(access, loaded))


def add_outcome(access: Access, room_id: str, data: OutcomeIn) -> dict[str, Any]:
    loaded = access.room(room_id, "edit_plan")
    outcome_id, doc = _edit(access, loaded, lambda plan: document.add_outcome(plan, data.text))
    plan = document.to_json(doc, people_of(access, loaded))
    return document.find_outcome_json(plan, outcome_id)


def add_action(access: Access, room_id: str, outcome_id: str, data: ActionIn) -> dict[str, Any]:
    loaded = access.room(room_id, "edit_plan")
    _check_owner(access, loaded, data.owner_id)
    try:
        action_id, doc = _edit(
            access, loaded,
            lambda plan: document.add_action(plan, outcome_id, data.text, data.owner_id, data.due),
        )  # fmt: skip
    except document.NoSuchItem as exc:
        raise NotFound("This plan has no such outcome.") from exc
    plan = document.to_json(doc, people_of(access, loaded))
    return document.find_action_json(plan, action_id)


def patch_action(
    access: Access, room_id: str, action_id: str, data: ActionPatchIn
) -> dict[str, Any]:
    """Status, evidence (replaced whole), due date, owner; `null` clears a date or owner."""
    loaded = access.room(room_id, "edit_plan")
    given = data.model_fields_set
    if "status" in given and data.status is None:
        raise Invalid("status cannot be cleared.", fields={"status": "must be a status"})
    if "evidence" in given and data.evidence is None:
        raise Invalid("evidence cannot be null.", fields={"evidence": "must be text"})
    _check_owner(access, loaded, data.owner_id)
    changes: dict[str, Any] = {name: getattr(data, name) for name in given}
    try:
        _, doc = _edit(
            access, loaded, lambda plan: document.update_action(plan, action_id, **changes)
        )
    except document.NoSuchItem as exc:
        raise NotFound("This plan has no such action.") from exc
    plan = document.to_json(doc, people_of(access, loaded))
    return document.find_action_json(plan, action_id)


# --- an editor's socket ----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    applied: bool  # False: it changed nothing (nothing stored, nothing relayed)


def _changes_anything(doc: Doc[Any], update: bytes) -> bool:
    before = doc.get_update()
    try:
        doc.apply_update(update)
    except ValueError:
        return True  # not a Yjs update at all: certainly not nothing
    return doc.get_update() != before


def receive_update(
    access: Access,
    room_id: str,
    update: bytes,
    *,
    session_recorded: bool,
    skip_sid: str | None = None,
) -> Received:
    """A Yjs update (or a sync step 2) from a socket. From someone who may edit: checked
    to be a Yjs update, appended, relayed. From someone who may only read: refused and
    audited, not applied; except that a read-only client's sync step 2 that tells the
    server nothing new (what y-protocols sends on every join) is no edit, just ignored.

    `session_recorded`: this editing session's edit is recorded already (a socket joined
    to the plan that sent an update before); every refusal is recorded."""
    loaded = access.room_in_session(room_id, "read_plan", audit_as="edit_plan")
    target = plan_target(loaded)
    if not access.allowed("edit_plan", loaded.fact):
        if not _changes_anything(opened(access, loaded).doc, update):
            return Received(applied=False)
        access.deny("edit_plan", target, conceal=False)
    try:
        Doc().apply_update(update)
    except ValueError as exc:
        raise Invalid("That is not a Yjs update.", fields={"message": "malformed"}) from exc
    if update == b"\x00\x00":
        return Received(applied=False)
    if not session_recorded:
        access.record("edit_plan", target)
    store.create(access.session, access.app.keys, room_id, loaded.room.plan_type, access.now)
    _commit(access, loaded, update, skip_sid)
    return Received(applied=True)
