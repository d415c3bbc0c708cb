"""Published versions of a plan: the lead signs the draft off as version N (immutable:
nothing updates or deletes one, and the database refuses to); everyone reads the versions
the policy allows (rule 3: a guest from the one agreed when they joined)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import col, select

from workspace import serialize
from workspace.access import Access, LoadedRoom, LoadedVersion, Target
from workspace.clock import iso
from workspace.crypto import Keys
from workspace.events import PlanPublished
from workspace.ids import new_id
from workspace.models import Organisation, PlanVersion, User
from workspace.services.plans import document, store
from workspace.services.plans.views import (
    PublishedPlan,
    ShownVersion,
    VersionSummary,
    people_of,
)


def _plan_context(room_id: str, version: int) -> bytes:
    return f"plan-version:{room_id}:{version}".encode()


def _state_context(room_id: str, version: int) -> bytes:
    return f"plan-version-state:{room_id}:{version}".encode()


def _signer(access: Access, user_id: str) -> dict[str, Any]:
    row = access.session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(User.id) == user_id)
    ).one()
    return serialize.user(*row)


def published(access: Access, room: LoadedRoom) -> list[VersionSummary]:
    """The versions the caller may read, oldest first (filtered in the query)."""
    rows = access.session.exec(
        select(PlanVersion, User, Organisation)
        .join(User, col(User.id) == col(PlanVersion.signed_by_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(access.plan_versions_filter(room))
        .order_by(col(PlanVersion.version))
    ).all()
    return [VersionSummary(v.version, serialize.user(u, o), v.signed_at, v.id) for v, u, o in rows]


def list_versions(access: Access, room_id: str) -> list[VersionSummary]:
    """The versions the caller may read: one audited `list_plan_versions`."""
    loaded = access.room(room_id, "read_plan", audit_as="list_plan_versions")
    return published(access, loaded)


def _opened(keys: Keys, row: PlanVersion, signed_by: dict[str, Any]) -> PublishedPlan:
    plan = json.loads(keys.unseal_bytes(row.plan_sealed, _plan_context(row.room_id, row.version)))
    state = keys.unseal_bytes(row.state_sealed, _state_context(row.room_id, row.version))
    return PublishedPlan(VersionSummary(row.version, signed_by, row.signed_at, row.id), plan, state)


def contents(access: Access, room: LoadedRoom) -> dict[int, dict[str, Any]]:
    """Every version's plan as signed off, by number: for a subject access request the
    policy has allowed on this room (workspace/services/subject_access.py)."""
    rows = access.session.exec(
        select(PlanVersion).where(col(PlanVersion.room_id) == room.room.id)
    ).all()
    return {row.version: _opened(access.app.keys, row, {}).plan for row in rows}


def latest(
    access: Access, room: LoadedRoom, summaries: list[VersionSummary]
) -> PublishedPlan | None:
    """The newest version in `summaries` (what `published` gave the caller), in full: part
    of the plan view it was listed in, so not recorded again."""
    if not summaries:
        return None
    newest = summaries[-1]
    row = access.session.exec(
        select(PlanVersion).where(
            col(PlanVersion.room_id) == room.room.id, col(PlanVersion.version) == newest.version
        )
    ).one()
    return _opened(access.app.keys, row, newest.signed_by)


def read_version(access: Access, room_id: str, number: int) -> PublishedPlan:
    """One version, as signed off (audited as a view of that version)."""
    loaded: LoadedVersion = access.plan_version(room_id, number, audit_as="view_plan_version")
    return _opened(access.app.keys, loaded.version, _signer(access, loaded.version.signed_by_id))


def _shown(access: Access, loaded: LoadedVersion) -> ShownVersion:
    row = loaded.version
    user, org = access.session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(User.id) == row.signed_by_id)
    ).one()
    opened = _opened(access.app.keys, row, serialize.user(user, org))
    return ShownVersion(row.version, user, org, row.signed_at, opened.plan,
                        loaded.room.room.plan_type, loaded.room)  # fmt: skip


def get(access: Access, room_id: str, number: int) -> ShownVersion:
    """One version for its page or a comparison (audited as a view of that version)."""
    return _shown(access, access.plan_version(room_id, number, audit_as="view_plan_version"))


def export(access: Access, room_id: str, number: int) -> ShownVersion:
    """One version for its PDF (audited as an export of that version)."""
    return _shown(access, access.plan_version(room_id, number, audit_as="export_plan"))


def publish(access: Access, room_id: str) -> VersionSummary:
    """The lead signs the draft off as the next version: the plan as JSON (each owner as
    they are now) and the document's state, sealed. Open plan pages are told."""
    loaded = access.room(room_id, "publish_plan")
    user = access.require_user()
    session, keys = access.session, access.app.keys
    store.create(session, keys, room_id, loaded.room.plan_type, access.now)
    store.lock(session, room_id)  # nothing is appended while the draft is signed off
    stored = store.load(session, keys, room_id)
    plan = document.to_json(stored.doc, people_of(access, loaded))
    number = int(
        session.exec(
            select(func.coalesce(func.max(PlanVersion.version), 0)).where(
                col(PlanVersion.room_id) == room_id
            )
        ).one()
    ) + 1
    version_id = new_id()
    session.execute(
        insert(PlanVersion).values(
            id=version_id,
            room_id=room_id,
            version=number,
            plan_sealed=keys.seal_bytes(
                json.dumps(plan, sort_keys=True).encode(), _plan_context(room_id, number)
            ),
            state_sealed=keys.seal_bytes(stored.doc.get_update(), _state_context(room_id, number)),
            seq=stored.seq,
            signed_by_id=user.id,
            signed_at=access.now,
        )
    )
    access.record(
        "plan_published",
        Target("plan_version", version_id, room_id, loaded.child.id),
        purpose=f"version {number}",
    )
    summary = VersionSummary(number, _signer(access, user.id), access.now, version_id)
    access.emit(PlanPublished(room_id, number, user.name, iso(access.now) or ""))
    return summary
