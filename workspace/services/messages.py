"""Messages in a room: list (filtered by the policy in the query), post, edit, retract."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from workspace.access import Access, Target
from workspace.errors import Invalid
from workspace.models import Message, MessageEdit, Organisation, User
from workspace.pagination import Page, cursor_time, decode_cursor, encode_cursor
from workspace.schemas import MessageEditIn, MessageIn


@dataclass(frozen=True)
class MessageView:
    message: Message
    author: User
    organisation: Organisation
    can_edit: bool = False


def _view(access: Access, message: Message, can_edit: bool = False) -> MessageView:
    author = access.session.get(User, message.author_id)
    org = access.session.get(Organisation, message.author_org_id)
    assert author is not None and org is not None
    return MessageView(message, author, org, can_edit)


def list_messages(
    access: Access,
    room_id: str,
    *,
    cursor: str | None = None,
    limit: int = 50,
    latest: bool = False,
) -> Page[MessageView]:
    """Oldest first, `limit` at a time. With `latest`, the newest `limit` (for a room page)."""
    loaded = access.room(room_id, "list_messages")
    user = access.require_user()
    query = (
        select(Message, User, Organisation)
        .join(User, User.id == Message.author_id)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == Message.author_org_id)  # type: ignore[arg-type]
        .where(access.messages_filter(loaded))
    )
    if latest:
        query = query.order_by(col(Message.created_at).desc(), col(Message.id).desc())
    else:
        query = query.order_by(col(Message.created_at), col(Message.id))
    after = decode_cursor(cursor, 2)
    if after is not None:
        at = cursor_time(after[0])
        query = query.where(
            (col(Message.created_at) > at)
            | ((Message.created_at == at) & (col(Message.id) > after[1]))
        )
    rows = access.session.exec(query.limit(limit + 1)).all()
    may_post = "post_message" in access.allowed_actions(loaded)
    items = [
        MessageView(m, a, o, can_edit=may_post and m.author_id == user.id and not m.retracted_at)
        for m, a, o in rows[:limit]
    ]
    if latest:
        items.reverse()
        return Page(items, None)
    nxt = None
    if len(rows) > limit:
        last = items[-1].message
        nxt = encode_cursor(last.created_at.isoformat(), last.id)
    return Page(items, nxt)


def post_message(access: Access, room_id: str, data: MessageIn) -> tuple[MessageView, bool]:
    """Returns the message and whether it was created now (False: a retry of `client_id`)."""
    loaded = access.room(room_id, "post_message")
    user = access.require_user()
    session = access.session
    if data.client_id:
        earlier = session.exec(
            select(Message).where(
                Message.room_id == loaded.room.id,
                Message.author_id == user.id,
                Message.client_id == data.client_id,
            )
        ).first()
        if earlier is not None:
            return _view(access, earlier, can_edit=True), False
    if data.thread_id:
        parent = session.get(Message, data.thread_id)
        if parent is None or parent.room_id != loaded.room.id:
            raise Invalid(
                "thread_id is not a message in this room.", fields={"thread_id": "unknown"}
            )
        access.message(parent.id, "read")
        data_thread = parent.thread_id or parent.id
    else:
        data_thread = None
    message = Message(
        room_id=loaded.room.id,
        author_id=user.id,
        author_org_id=user.organisation_id,
        body=data.body,
        kind=data.kind,
        sensitivity=data.sensitivity,
        thread_id=data_thread,
        client_id=data.client_id,
        created_at=access.now,
    )
    session.add(message)
    session.flush()
    access.record("post_message", Target("message", message.id, loaded.room.id, loaded.child.id))
    return _view(access, message, can_edit=True), True


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
    return _view(access, message, can_edit=True)


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
    return _view(access, message)


def message_history(access: Access, message_id: str) -> list[MessageEdit]:
    """Earlier versions, for anyone who may read the message (edits are never silent)."""
    loaded = access.message(message_id, "read")
    if loaded.message.retracted_at is not None:
        return []
    return list(
        access.session.exec(
            select(MessageEdit)
            .where(MessageEdit.message_id == message_id)
            .order_by(col(MessageEdit.replaced_at))
        ).all()
    )
