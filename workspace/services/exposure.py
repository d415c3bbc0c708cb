"""Who could have seen an item: a message or a file (DESIGN.md §4, chat issue §7).

Deliveries to sockets are not audited one by one (a busy room would write a row per
listener per message). What is audited is each socket `join`, each list or sync of
items and each page view, and memberships keep when they began and ended. From those,
this answers the reviewer's question for one item without showing its content: for
each person who ever held access to the room, the first moment the policy let them read
it (asked of the policy as of that moment: a membership, a break-glass or the lead's
decision to share it began), whether they still may, and the audited views of the room
they made since. For a file, also who holds its key now (sealed to them, and since when)
and who downloaded its ciphertext, per the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import col, func, select

from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.facts import file_fact, message_fact
from workspace.models import (
    AuditEvent,
    BreakGlass,
    EncryptedFile,
    Membership,
    Message,
    Organisation,
    SealedKey,
    SharingDecision,
    User,
)

VIEW_ACTIONS = {
    "message": ("view", "join", "list_messages", "search_messages"),
    "file": ("view", "join", "list_files"),
}
DOWNLOAD = "download_file"  # reading.content's audit name


@dataclass(frozen=True)
class Exposure:
    user: User
    organisation: Organisation
    # None: the policy never let them read it, yet they hold its key or fetched it
    # (shown, not hidden: that is what a reviewer must see).
    could_read_from: datetime | None
    can_read_now: bool
    views: int
    last_view_at: datetime | None
    # Files only: when the key they hold now was sealed to them, and their downloads.
    key_since: datetime | None = None
    downloads: int = 0
    last_download_at: datetime | None = None


@dataclass(frozen=True)
class ExposureReport:
    kind: Literal["message", "file"]
    item: Message | EncryptedFile
    author: User
    author_org: Organisation
    room_reference: str
    people: list[Exposure]


def who_could_have_seen(access: Access, message_id: str) -> ExposureReport:
    message = access.session.get(Message, message_id)
    if message is None:
        access.deny("review_access", Target("message", message_id), conceal=True)
        raise AssertionError("unreachable")
    loaded = _room_for_review(
        access,
        Target("message", message.id, message.room_id),
        lambda room: access.allowed("read", message_fact(message, room.fact)),
    )
    return _report(access, loaded, "message", message, message.author_id, message.author_org_id)


def who_could_have_seen_file(access: Access, file_id: str) -> ExposureReport:
    """As for a message. A file whose content never arrived is no item of the room: as
    `access.file` does, only its uploader knows of it."""
    file = access.session.get(EncryptedFile, file_id)
    unfinished = file is not None and file.content_state != "stored" and (
        access.user is None or file.uploader_id != access.user.id
    )
    if file is None or unfinished:
        access.deny("review_access", Target("file", file_id), conceal=True)
        raise AssertionError("unreachable")
    loaded = _room_for_review(
        access,
        Target("file", file.id, file.room_id),
        lambda room: access.allowed("read", file_fact(file, room.fact)),
    )
    return _report(access, loaded, "file", file, file.uploader_id, file.uploader_org_id)


def _room_for_review(
    access: Access, target: Target, readable: Callable[[LoadedRoom], bool]
) -> LoadedRoom:
    """The room, if the caller may review who saw its items (audited as a review of this
    item). Refused: a 403 only to someone who may read this very item; to anyone else (a
    member kept from a restricted item, an outsider) the item does not exist, as a random
    id would not."""
    assert target.room_id is not None
    loaded = access.room_for_user(target.room_id)
    if loaded is not None:
        target = Target(target.resource_type, target.resource_id, loaded.room.id, loaded.child.id)
    if loaded is not None and access.allowed("review_access", loaded.fact):
        access.record("review_exposure", target)
        return loaded
    access.deny("review_exposure", target, conceal=not (loaded is not None and readable(loaded)))
    raise AssertionError("unreachable")


def _report(
    access: Access,
    loaded: LoadedRoom,
    kind: Literal["message", "file"],
    item: Message | EncryptedFile,
    author_id: str,
    author_org_id: str,
) -> ExposureReport:
    session = access.session
    created = utc(item.created_at)
    starts = _access_began(access, item)
    keys: dict[str, datetime] = {}
    downloads: dict[str, tuple[int, datetime]] = {}
    if kind == "file":
        keys = {
            k.user_id: utc(k.created_at)
            for k in session.exec(select(SealedKey).where(col(SealedKey.file_id) == item.id))
        }
        downloads = {
            actor: (int(n), utc(last))
            for actor, n, last in session.exec(
                select(AuditEvent.actor_id, func.count(), func.max(AuditEvent.at))
                .where(
                    col(AuditEvent.action) == DOWNLOAD,
                    col(AuditEvent.resource_id) == item.id,
                    col(AuditEvent.outcome) == "allowed",
                    col(AuditEvent.actor_id).is_not(None),
                )
                .group_by(col(AuditEvent.actor_id))
            ).all()
            if actor is not None
        }
    people: list[Exposure] = []
    for user_id in sorted(set(starts) | set(keys) | set(downloads)):
        user = session.get(User, user_id)
        if user is None:
            continue
        first = next(
            (
                t
                for t in sorted(starts.get(user_id, ()))
                if t <= access.now and access.user_may_at(user, "read", item, t)
            ),
            None,
        )
        if first is None and user_id not in keys and user_id not in downloads:
            continue
        views = session.exec(
            select(AuditEvent.at)
            .where(
                col(AuditEvent.actor_id) == user_id,
                col(AuditEvent.room_id) == item.room_id,
                col(AuditEvent.outcome) == "allowed",
                col(AuditEvent.action).in_(VIEW_ACTIONS[kind]),
                col(AuditEvent.at) >= (first or created),
            )
            .order_by(col(AuditEvent.at))
        ).all()
        org = session.get(Organisation, user.organisation_id)
        assert org is not None
        fetched, last_fetch = downloads.get(user_id, (0, None))
        people.append(
            Exposure(
                user, org, first, access.user_may_at(user, "read", item, access.now),
                len(views), views[-1] if views else None, keys.get(user_id), fetched, last_fetch,
            )
        )  # fmt: skip
    author = session.get(User, author_id)
    author_org = session.get(Organisation, author_org_id)
    assert author is not None and author_org is not None
    people.sort(key=lambda e: (e.could_read_from is None, e.could_read_from or created,
                               e.user.name))  # fmt: skip
    return ExposureReport(kind, item, author, author_org, loaded.room.reference, people)


def _access_began(access: Access, item: Message | EncryptedFile) -> dict[str, set[datetime]]:
    """Per person, the moments at which their access to the item could have begun: a
    membership or break-glass starting (or the item's creation, if later), and the lead's
    decision to share this very item with them (rule 3)."""
    session = access.session
    created = utc(item.created_at)
    starts: dict[str, set[datetime]] = {}
    for m in session.exec(select(Membership).where(col(Membership.room_id) == item.room_id)):
        starts.setdefault(m.user_id, set()).add(max(created, utc(m.joined_at)))
    for g in session.exec(select(BreakGlass).where(col(BreakGlass.room_id) == item.room_id)):
        starts.setdefault(g.user_id, set()).add(max(created, utc(g.started_at)))
    shares = session.exec(
        select(SharingDecision).where(
            col(SharingDecision.item_id) == item.id,
            col(SharingDecision.decision) == "share",
            col(SharingDecision.with_user_id).is_not(None),
        )
    )
    for d in shares:
        if d.with_user_id is not None:
            starts.setdefault(d.with_user_id, set()).add(max(created, utc(d.created_at)))
    return starts
