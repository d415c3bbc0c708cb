"""Messages in a room: list (filtered by the policy in the query), post, edit, retract,
mentions, read receipts, unread counts and search.

Order is the room's `seq`, handed out under the room's row lock, so it is the commit order
and a reconnecting client can ask for everything after the last message it saw without gaps.
Clients never see `seq` itself: gaps in it would count restricted items they may not see
(rule 2). Cursors are message ids the caller may read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import bindparam, func, insert, literal, literal_column, text, union_all, update
from sqlmodel import Session, col, select

from workspace import audience, serialize
from workspace.access import Access, LoadedRoom, Target
from workspace.db import as_written
from workspace.errors import BadRequest, Invalid
from workspace.events import MessageEdited, MessagePosted, ReadUpTo
from workspace.facts import message_fact, room_fact
from workspace.ids import new_id
from workspace.models import (
    AgencyAlert,
    AgencyEvent,
    Membership,
    Mention,
    Message,
    MessageEdit,
    Organisation,
    ReadMarker,
    Room,
    User,
)
from workspace.models.message import AGENCY_EVENT, ITEM_KINDS
from workspace.pagination import Page
from workspace.schemas import MessageEditIn, MessageIn
from workspace.services import notifications

MENTION = re.compile(r"(?<![\w.])@([a-z0-9][a-z0-9._-]{0,63})", re.IGNORECASE)


@dataclass(frozen=True)
class Reader:
    id: str
    name: str


@dataclass(frozen=True)
class Told:
    """The caller was told of an agency event: by when to act, and when they acknowledged."""

    due_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class AgencyDetails:
    """What a partner system said of an event that became this item (issue #14), and
    whether the caller was told of it."""

    event_type: str
    occurred_at: datetime
    place: str | None
    reference: str
    told: Told | None = None


@dataclass(frozen=True)
class MessageView:
    message: Message
    author: User
    organisation: Organisation
    can_edit: bool = False
    seen_by: tuple[Reader, ...] = ()
    mentions: tuple[Reader, ...] = field(default=())
    # For the author, at post time: @handles that reached nobody (see `unheard_mentions`).
    not_notified: tuple[str, ...] = ()
    agency: AgencyDetails | None = None


def view_of(access: Access, message: Message, can_edit: bool = False) -> MessageView:
    author = access.session.get(User, message.author_id)
    org = access.session.get(Organisation, message.author_org_id)
    assert author is not None and org is not None
    agency = agency_details(access, [message]).get(message.id)
    return MessageView(message, author, org, can_edit, agency=agency)


def agency_details(access: Access, messages: Sequence[Message]) -> dict[str, AgencyDetails]:
    """The agency events among `messages` (items the caller was allowed), by message id:
    one query for a page, none when the page has no such item."""
    ids = [m.id for m in messages if m.kind == AGENCY_EVENT]
    if not ids:
        return {}
    caller = access.user.id if access.user else None
    rows = access.session.exec(
        select(AgencyEvent, AgencyAlert)
        .outerjoin(
            AgencyAlert,
            (col(AgencyAlert.agency_event_id) == col(AgencyEvent.id))
            & (col(AgencyAlert.user_id) == caller),
        )
        .where(col(AgencyEvent.message_id).in_(ids))
    )
    return {
        e.message_id: AgencyDetails(
            e.event_type,
            e.occurred_at,
            e.place,
            e.reference,
            Told(a.due_at, a.acknowledged_at) if a else None,
        )
        for e, a in rows
        if e.message_id
    }


def payload(view: MessageView) -> dict[str, object]:
    return serialize.message(view)


# --- reading ------------------------------------------------------------------------------


def _anchor_seq(access: Access, loaded: LoadedRoom, message_id: str) -> int:
    """The position of a message the caller may read in this room (a cursor)."""
    seq = access.session.exec(
        select(Message.seq).where(col(Message.id) == message_id, access.messages_filter(loaded))
    ).first()
    if seq is None:
        raise BadRequest(
            "The cursor is not a message of this room that you can read.", code="bad_cursor"
        )
    return int(seq)


def list_messages(
    access: Access,
    room_id: str,
    *,
    cursor: str | None = None,
    before: str | None = None,
    limit: int = 50,
    latest: bool = False,
    with_receipts: bool = False,
    kind: str | None = None,
) -> Page[MessageView]:
    """Oldest first. `cursor` (or a reconnecting client's last seen id): what came after it.
    `before`: the `limit` messages before it (scrolling back). `latest`: the newest `limit`.
    `kind`: only entries of that kind (e.g. the voice of the child), still within what the
    policy lets the caller read. Each page is one audited `list_messages`."""
    loaded = access.room(room_id, "list_messages")  # first: a room not yours is a 404
    if kind is not None and kind not in ITEM_KINDS:
        raise Invalid(
            f"kind must be one of: {', '.join(ITEM_KINDS)}.",
            fields={"kind": "not a kind of entry"},
        )
    query = (
        select(Message, User, Organisation)
        .join(User, col(User.id) == col(Message.author_id))
        .join(Organisation, col(Organisation.id) == col(Message.author_org_id))
        .where(access.messages_filter(loaded))
    )
    if kind is not None:
        query = query.where(col(Message.kind) == kind)
    backwards = latest or before is not None
    if cursor:
        query = query.where(col(Message.seq) > _anchor_seq(access, loaded, cursor))
    if before:
        query = query.where(col(Message.seq) < _anchor_seq(access, loaded, before))
    order = col(Message.seq).desc() if backwards else col(Message.seq)
    rows = list(access.session.exec(query.order_by(order).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    items = _views(access, loaded, rows, with_receipts)
    if backwards:
        # `next` points further back, to the oldest message of this page.
        return Page(items, items[0].message.id if more and items else None)
    return Page(items, items[-1].message.id if more and items else None)


def _views(
    access: Access,
    loaded: LoadedRoom,
    rows: Sequence[tuple[Message, User, Organisation]],
    with_receipts: bool,
) -> list[MessageView]:
    if not rows:
        return []
    user = access.require_user()
    # One decision for the page: whether the caller may still post here (rule 4: authors
    # edit their own messages while they may post).
    may_post = access.allowed("post_message", loaded.fact)
    receipts = _seen_by(access, loaded, [m for m, _, _ in rows]) if with_receipts else {}
    agency = agency_details(access, [m for m, _, _ in rows])
    return [
        MessageView(
            m,
            a,
            o,
            can_edit=may_post and m.author_id == user.id and not m.retracted_at,
            seen_by=receipts.get(m.id, ()),
            agency=agency.get(m.id),
        )
        for m, a, o in rows
    ]


@dataclass(frozen=True)
class Conversation:
    """A message and the replies to it that the caller may read, oldest first."""

    root: MessageView
    replies: tuple[MessageView, ...] = ()


def conversations(
    access: Access, room_id: str, page: list[MessageView], kind: str | None = None
) -> list[Conversation]:
    """A page of messages (from `list_messages`, which audited the listing) as
    conversations: each reply under the message it answers, each message with who has
    read it. A reply whose parent is older than the page brings the parent, and its other
    replies, along; one whose parent the caller may not read stands on its own. `kind`:
    the page shows one kind of entry, so a reply of that kind stands on its own rather
    than bring a parent of another kind. (The page can come without its receipts: they
    are worked out here once, for it and what it brings along.)"""
    have = {v.message.id for v in page}
    missing = {v.message.thread_id for v in page} - have - {None}
    views = list(page)
    loaded = access.room_for_user(room_id)
    if missing and loaded is not None and kind is None:
        rows = access.session.exec(
            select(Message, User, Organisation)
            .join(User, col(User.id) == col(Message.author_id))
            .join(Organisation, col(Organisation.id) == col(Message.author_org_id))
            .where(
                col(Message.id).in_(missing) | col(Message.thread_id).in_(missing),
                col(Message.id).not_in(have),
                access.messages_filter(loaded),
            )
        ).all()
        views += _views(access, loaded, rows, with_receipts=False)
        views.sort(key=lambda v: v.message.seq)
    if loaded is not None:
        receipts = _seen_by(access, loaded, [v.message for v in views])
        views = [replace(v, seen_by=receipts.get(v.message.id, ())) for v in views]
    shown = {v.message.id for v in views}
    replies: dict[str, list[MessageView]] = {}
    for v in views:
        if v.message.thread_id in shown:
            replies.setdefault(str(v.message.thread_id), []).append(v)
    return [
        Conversation(v, tuple(replies.get(v.message.id, ())))
        for v in views
        if v.message.thread_id not in shown
    ]


def reply_target(access: Access, room_id: str, message_id: str) -> MessageView | None:
    """The message a reply without script will answer (`?reply_to=` on the room page), if
    the caller may read it in this room; the page lists it too, whose listing is audited."""
    loaded = access.room_for_user(room_id)
    if loaded is None:
        return None
    row = access.session.exec(
        select(Message, User, Organisation)
        .join(User, col(User.id) == col(Message.author_id))
        .join(Organisation, col(Organisation.id) == col(Message.author_org_id))
        .where(
            col(Message.id) == message_id,
            col(Message.room_id) == room_id,
            access.messages_filter(loaded),
        )
    ).first()
    if row is None:
        return None
    return MessageView(*row, agency=agency_details(access, [row[0]]).get(row[0].id))


def _seen_by(
    access: Access, loaded: LoadedRoom, messages: list[Message]
) -> dict[str, tuple[Reader, ...]]:
    """Who has read each message — only among people who may read it: each reader's
    visible set comes from the same policy filter as their own message list."""
    if not messages:
        return {}
    lowest = min(m.seq for m in messages)
    markers = access.session.exec(
        select(ReadMarker, User)
        .join(User, col(User.id) == col(ReadMarker.user_id))
        .where(
            col(ReadMarker.room_id) == loaded.room.id,
            col(ReadMarker.last_read_seq) >= lowest,
        )
    ).all()
    ids = [m.id for m in messages]
    # What each reader may read among these: the policy's filter for each of them (their
    # rows read once), asked in one statement.
    people = access.people(reader for _, reader in markers)
    visible: dict[str, list[tuple[str, int, str]]] = {}
    rows = access.session.execute(
        union_all(*(
            select(literal(reader.id), Message.id, Message.seq, Message.author_id).where(
                col(Message.id).in_(ids), people.messages_filter(reader, loaded)
            )
            for _, reader in markers
        ))
    ).all() if markers else []  # fmt: skip
    for reader_id, message_id, seq, author_id in rows:
        visible.setdefault(reader_id, []).append((message_id, seq, author_id))
    seen: dict[str, list[Reader]] = {}
    for marker, reader in markers:
        for message_id, seq, author_id in visible.get(reader.id, ()):
            if seq <= marker.last_read_seq and author_id != reader.id:
                seen.setdefault(message_id, []).append(Reader(reader.id, reader.name))
    return {k: tuple(sorted(v, key=lambda r: r.name)) for k, v in seen.items()}


def search_messages(access: Access, room_id: str, q: str, *, limit: int = 50) -> list[MessageView]:
    """Full-text search within one room; results pass the same policy filter as the list.
    The audit records that a search happened, not what was searched for."""
    terms = " ".join(re.findall(r"\w+", q))[:200]
    if not terms:
        raise Invalid("Type some words to search for.", fields={"q": "empty"})
    loaded = access.room(room_id, "list_messages", audit_as="search_messages")
    query = (
        select(Message, User, Organisation)
        .join(User, col(User.id) == col(Message.author_id))
        .join(Organisation, col(Organisation.id) == col(Message.author_org_id))
        .where(access.messages_filter(loaded), col(Message.retracted_at).is_(None))
    )
    if access.app.settings.is_sqlite:
        phrase = " ".join(f'"{t}"' for t in terms.split())
        query = query.where(
            literal_column("message.rowid").in_(
                text("SELECT rowid FROM message_fts WHERE message_fts MATCH :q").bindparams(
                    q=phrase
                )
            )
        )
    else:
        query = query.where(
            func.to_tsvector("english", col(Message.body)).bool_op("@@")(
                func.plainto_tsquery("english", terms)
            )
        )
    rows = access.session.exec(query.order_by(col(Message.seq).desc()).limit(limit)).all()
    agency = agency_details(access, [m for m, _, _ in rows])
    return [MessageView(m, a, o, agency=agency.get(m.id)) for m, a, o in rows]


# --- writing ------------------------------------------------------------------------------


def _check_reply_audience(root: Message, data: MessageIn, author: User) -> None:
    """A reply goes to no one who may not read what it answers: its thread (the id of a
    restricted message) would tell them that the message exists (rule 2). So a reply in a
    restricted thread is restricted, and only the thread's organisation reply in it (the
    lead's own restricted note would be read by the lead's organisation)."""
    if root.sensitivity != "restricted":
        return
    if data.sensitivity != "restricted":
        raise Invalid(
            "A reply to a restricted message is restricted too: mark it restricted, or post "
            "a new message for everyone.",
            fields={"sensitivity": "must be restricted in this thread"},
        )
    if author.organisation_id != root.author_org_id:
        raise Invalid(
            "Only the organisation that wrote this restricted message can reply in its "
            "thread (your reply would be read by your own organisation): post a new "
            "restricted message instead.",
            fields={"thread_id": "restricted to another organisation"},
        )


# The author's post of a client id in a room: a retry is answered with it instead of
# posting twice.
_SAME_CLIENT_ID = (
    col(Message.room_id) == bindparam("room_id"),
    col(Message.author_id) == bindparam("author_id"),
    col(Message.client_id) == bindparam("client_id"),
)
# Built once (a retried post): that earlier post.
_EARLIER_POST = select(Message).where(*_SAME_CLIENT_ID)
_INSERT_MESSAGE = insert(Message)
# Built once (every post): the room's next position, taken under the write lock.
_NEXT_SEQ = (
    update(Room)
    .where(col(Room.id) == bindparam("room_id"))
    .values(last_seq=col(Room.last_seq) + 1)
    .returning(col(Room.last_seq))
)
# The same, unless the author posted this client id in the room already (a retry): one
# statement for a post's check and its position, where they were two (issue #13).
_NEXT_SEQ_UNLESS_POSTED = _NEXT_SEQ.where(~select(literal(1)).where(*_SAME_CLIENT_ID).exists())


_LOCK_POSITIONS = (
    select(Room.id)
    .where(col(Room.id).in_(bindparam("room_ids", expanding=True)))
    .order_by(col(Room.id))
    # FOR NO KEY UPDATE, as the UPDATE itself takes: inserts that only reference the room
    # (its messages' foreign key) do not wait for it.
    .with_for_update(key_share=True)
)


def lock_positions(session: Session, room_ids: list[str]) -> None:
    """Take the rows that hold these rooms' next positions (`_NEXT_SEQ` writes them), in
    id order, for the rest of the transaction: transactions that take several of them
    this way wait for one another in one order, never in a circle
    (realtime/group_commit.py)."""
    session.exec(_LOCK_POSITIONS, params={"room_ids": room_ids}).all()  # type: ignore[call-overload]


def post_message(access: Access, room_id: str, data: MessageIn) -> tuple[MessageView, bool]:
    """Returns the message and whether it was created now (False: a retry of `client_id`)."""
    loaded = access.room(room_id, "post_message")
    user = access.require_user()
    session = access.session
    thread_id = None
    if data.thread_id:
        parent = session.get(Message, data.thread_id)
        if parent is None or parent.room_id != loaded.room.id:
            raise Invalid(
                "thread_id is not a message in this room.", fields={"thread_id": "unknown"}
            )
        access.message(parent.id, "read")
        thread_id = parent.thread_id or parent.id
        _check_reply_audience(session.get(Message, thread_id) or parent, data, user)
    seq = next_position(session, loaded, user, data.client_id)
    if seq is None:  # a retry: answered with the post it repeats
        earlier = session.exec(
            _EARLIER_POST,
            params={"room_id": loaded.room.id, "author_id": user.id, "client_id": data.client_id},
        ).one()
        return view_of(access, earlier, can_edit=True), False
    message = insert_item(
        access,
        loaded,
        user,
        body=data.body,
        kind=data.kind,
        sensitivity=data.sensitivity,
        thread_id=thread_id,
        client_id=data.client_id,
        seq=seq,
    )
    fact = message_fact(message, loaded.fact)
    mentioned = _record_mentions(access, loaded, message)
    notifications.mentioned(access, loaded, tuple(r.id for r in mentioned), message.id)
    view = view_of(access, message, can_edit=True)
    view = MessageView(view.message, view.author, view.organisation, True, (), mentioned)
    access.emit(
        MessagePosted(
            loaded.room.id, fact, payload(view), tuple(r.id for r in mentioned),
            access.guest_readers(fact),
        )
    )  # fmt: skip
    return replace(view, not_notified=_unheard(access, message)), True


def next_position(
    session: Session, loaded: LoadedRoom, author: User, client_id: str | None
) -> int | None:
    """The room's next position, taken for the author's new post; None (nothing taken)
    if they posted `client_id` in this room already."""
    if client_id is None:
        return _next_seq(session, loaded)
    taken: int | None = (
        session.connection()
        .execute(
            _NEXT_SEQ_UNLESS_POSTED,
            {"room_id": loaded.room.id, "author_id": author.id, "client_id": client_id},
        )
        .scalar_one_or_none()
    )
    return taken


def _next_seq(session: Session, loaded: LoadedRoom) -> int:
    seq: int = session.connection().execute(_NEXT_SEQ, {"room_id": loaded.room.id}).scalar_one()
    return seq


def insert_item(
    access: Access,
    loaded: LoadedRoom,
    author: User,
    *,
    body: str,
    kind: str,
    sensitivity: str,
    thread_id: str | None = None,
    client_id: str | None = None,
    seq: int | None = None,
) -> Message:
    """Write a new item at the room's next position, or at `seq` if the caller took it
    (`next_position`), and record its creation: a person's post, or an agency's event.
    The caller decided it may be written."""
    if seq is None:
        seq = _next_seq(access.session, loaded)
    row = {
        "id": new_id(),
        "room_id": loaded.room.id,
        "author_id": author.id,
        "author_org_id": author.organisation_id,
        "body": body,
        "kind": kind,
        "sensitivity": sensitivity,
        "thread_id": thread_id,
        "client_id": client_id,
        "seq": seq,
        "created_at": access.now,
        "edited_at": None,
        "retracted_at": None,
    }
    # Inserted as a row, not through the unit of work (a third of a post's time was the
    # flush); the object stays out of the session and is only read from here on.
    access.session.connection().execute(_INSERT_MESSAGE, row)
    message = as_written(Message, row)
    # The room's decision is one event; the new item (its id) is the second.
    access.record("message_created", Target("message", message.id, loaded.room.id, loaded.child.id))
    return message


def announce(access: Access, loaded: LoadedRoom, message: Message) -> None:
    """Tell the room of an item no person posted live (an agency event, a concern moved
    in): to everyone who may read it, as a post is told."""
    fact = message_fact(message, loaded.fact)
    view = view_of(access, message)
    access.emit(MessagePosted(loaded.room.id, fact, payload(view), (), access.guest_readers(fact)))


def _record_mentions(access: Access, loaded: LoadedRoom, message: Message) -> tuple[Reader, ...]:
    """@handle (the part of a member's email before the @) notifies that member — only if
    they may read this message, so a mention never leaks a restricted item."""
    handles = {h.lower() for h in MENTION.findall(message.body)}
    if not handles:
        return ()
    people = access.session.exec(
        select(User)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(col(Membership.room_id) == loaded.room.id, col(Membership.revoked_at).is_(None))
    ).all()
    fact = message_fact(message, loaded.fact)
    mentioned: list[Reader] = []
    for person in {p.id: p for p in people}.values():
        handle = person.email.split("@", 1)[0].lower()
        if (
            handle in handles
            and person.id != message.author_id
            and access.user_may(person, "read", fact)
        ):
            access.session.add(
                Mention(
                    message_id=message.id,
                    room_id=loaded.room.id,
                    user_id=person.id,
                    created_at=access.now,
                )
            )
            mentioned.append(Reader(person.id, person.name))
    return tuple(mentioned)


def _unheard(access: Access, message: Message) -> tuple[str, ...]:
    """The @handles in a message that notified nobody: no one in the room by that handle
    who may read it. All such handles are told alike, whether or not an account exists,
    so the author learns nothing a member of the room could not already know."""
    handles = MENTION.findall(message.body)
    if not handles:
        return ()
    notified = access.session.exec(
        select(User.email)
        .join(Mention, col(Mention.user_id) == col(User.id))
        .where(col(Mention.message_id) == message.id)
    ).all()
    author = access.session.get(User, message.author_id)
    heard = {e.split("@", 1)[0].lower() for e in [*notified, author.email if author else ""]}
    unheard: list[str] = []
    for handle in handles:
        if handle.lower() not in heard and handle.lower() not in unheard:
            unheard.append(handle.lower())
    return tuple(unheard)


def unheard_mentions(access: Access, room_id: str, message_id: str) -> tuple[str, ...]:
    """For the page after a plain (no script) post: the handles of the caller's own
    message in this room that notified nobody. Any other id (not theirs, not here, not a
    message) gets nothing, so the page still opens."""
    own = access.session.exec(
        select(Message.id).where(
            col(Message.id) == message_id,
            col(Message.room_id) == room_id,
            col(Message.author_id) == access.require_user().id,
            col(Message.retracted_at).is_(None),
        )
    ).first()
    if own is None:
        return ()
    return _unheard(access, access.message(message_id, "read").message)


def edit_message(access: Access, message_id: str, data: MessageEditIn) -> MessageView:
    """Rule 4: authors edit their own messages; the earlier text is kept and visible."""
    loaded = access.message(message_id, "edit")
    message = loaded.message
    if message.retracted_at is not None:
        raise Invalid("A retracted message cannot be edited.")
    if data.body != message.body:
        access.session.add(
            MessageEdit(message_id=message.id, body=message.body, replaced_at=access.now)
        )
        message.body = data.body
        message.edited_at = access.now
        access.session.add(message)
        view = view_of(access, message, can_edit=True)
        access.emit(
            MessageEdited(
                message.room_id, loaded.fact, payload(view), access.guest_readers(loaded.fact)
            )
        )
        return view
    return view_of(access, message, can_edit=True)


def retract_message(access: Access, message_id: str) -> MessageView:
    """The body is hidden from everyone; it stays in the edit history for audit."""
    loaded = access.message(message_id, "retract")
    message = loaded.message
    if message.retracted_at is None:
        access.session.add(
            MessageEdit(message_id=message.id, body=message.body, replaced_at=access.now)
        )
        message.retracted_at = access.now
        access.session.add(message)
        view = view_of(access, message)
        access.emit(
            MessageEdited(
                message.room_id, loaded.fact, payload(view), access.guest_readers(loaded.fact)
            )
        )
        return view
    return view_of(access, message)


def message_history(access: Access, message_id: str) -> list[MessageEdit]:
    """Earlier versions, for anyone who may read the message (edits are never silent)."""
    loaded = access.message(message_id, "read")
    if loaded.message.retracted_at is not None:
        return []
    return list(
        access.session.exec(
            select(MessageEdit)
            .where(col(MessageEdit.message_id) == message_id)
            .order_by(col(MessageEdit.replaced_at))
        ).all()
    )


# --- read receipts and unread counts ------------------------------------------------------


def mark_read(access: Access, message_id: str) -> None:
    """Read receipts: the reader has seen everything up to this message."""
    loaded = access.message(message_id, "read")
    if not access.allowed("mark_read", loaded.room.fact):  # e.g. reading by break-glass
        access.deny("mark_read", Target("message", message_id, loaded.room.room.id), conceal=False)
    _mark(access, loaded.room, access.require_user(), loaded.message)


def _mark(access: Access, loaded: LoadedRoom, user: User, message: Message) -> None:
    marker = access.session.get(ReadMarker, (loaded.room.id, user.id))
    if marker is None:
        marker = ReadMarker(room_id=loaded.room.id, user_id=user.id, updated_at=access.now)
    if message.seq <= marker.last_read_seq:
        return
    previous = marker.last_read_seq
    marker.last_read_seq = message.seq
    marker.updated_at = access.now
    access.session.add(marker)
    _tell_receipts(access, loaded, user, previous, message.seq)


# A read can cover a long stretch (the first visit in weeks): news names the newest items,
# the ones an open page shows; a reload names the reader under older ones too.
RECEIPT_WINDOW = 100


def _tell_receipts(
    access: Access, loaded: LoadedRoom, user: User, after_seq: int, up_to_seq: int
) -> None:
    """News of a read names the items it covers that the reader may read, each told only
    to those who may read that item: "read up to M" alone would let a page mark earlier
    items the reader may not read (a restricted note) as seen by them. Items whose news
    goes to the same channels share one event."""
    covered = access.session.exec(
        select(Message)
        .where(
            col(Message.room_id) == loaded.room.id,
            col(Message.seq) > after_seq,
            col(Message.seq) <= up_to_seq,
            col(Message.author_id) != user.id,
            access.messages_filter(loaded),  # the reader's own view of the room
        )
        .order_by(col(Message.seq).desc())
        .limit(RECEIPT_WINDOW)
    ).all()
    groups: dict[tuple[str, ...], list[Message]] = {}
    guests: dict[tuple[str, ...], tuple[str, ...]] = {}
    for item in covered:
        readers = access.guest_readers(message_fact(item, loaded.fact))
        key = tuple(sorted(audience.channels_for(message_fact(item, loaded.fact), readers)))
        groups.setdefault(key, []).append(item)
        guests.setdefault(key, readers)
    for key, items in groups.items():
        newest = items[0]
        fact = message_fact(newest, loaded.fact)
        ids = tuple(m.id for m in reversed(items))
        access.emit(ReadUpTo(loaded.room.id, user.id, user.name, fact, newest.id, guests[key], ids))


@dataclass(frozen=True)
class Unread:
    messages: int
    mentions: int


def unread_counts(access: Access, room: Room, lead: User) -> Unread:
    """Counts only what the caller may read (rule 2: restricted items are never counted
    for anyone else). For rooms the caller's list already showed them."""
    user = access.require_user()
    loaded = room_fact(room, lead)
    marker = access.session.get(ReadMarker, (room.id, user.id))
    last = marker.last_read_seq if marker else 0
    visible_unread = (
        select(Message.id)
        .where(
            access.messages_filter(loaded),
            col(Message.seq) > last,
            col(Message.author_id) != user.id,
        )
        .subquery()
    )
    messages = access.session.exec(select(func.count()).select_from(visible_unread)).one()
    mentions = access.session.exec(
        select(func.count())
        .select_from(Mention)
        .where(
            col(Mention.user_id) == user.id,
            col(Mention.message_id).in_(select(visible_unread.c.id)),
        )
    ).one()
    return Unread(int(messages), int(mentions))
