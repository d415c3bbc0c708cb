"""Live events: what a committed change tells connected clients. Services record them on
their `Access`; they are published only after the transaction commits (a rolled-back
change tells nobody anything). realtime.fanout decides who receives each one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from policy.subjects import FileFact, MessageFact


@dataclass(frozen=True)
class MessagePosted:
    """A new message. `payload` is the API shape; `fact` decides its audience."""

    room_id: str
    fact: MessageFact
    payload: dict[str, Any]
    mentioned_user_ids: tuple[str, ...] = ()
    guest_ids: tuple[str, ...] = ()  # guests who may read it (workspace/audience.py)


@dataclass(frozen=True)
class MessageEdited:
    """An edit or a retraction; same audience as the message."""

    room_id: str
    fact: MessageFact
    payload: dict[str, Any]
    guest_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadUpTo:
    """Someone has read a room up to a message; told to those who may read that message.
    `message_ids`: the items the read covers whose news goes where this message's does
    (the reader may read each), so a page names the reader under those items only."""

    room_id: str
    user_id: str
    user_name: str
    fact: MessageFact
    message_id: str
    guest_ids: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessChanged:
    """Membership, role, expiry or room status changed: every process re-decides what the
    affected sockets may receive (and removes them from the room if nothing)."""

    room_id: str
    user_id: str | None = None  # None: everyone in the room
    reason: str = "changed"


@dataclass(frozen=True)
class CredentialEnded:
    """A browser session or an API token stopped working (signed out, revoked, a second
    factor now needed...): sockets opened with it are closed on every process, and each
    closing is audited with `reason`. `digest` is the stored hash, never the secret."""

    digest: str
    reason: str = "signed out"


@dataclass(frozen=True)
class MessageShared:
    """The lead re-shared an earlier item with one person (rule 3): it reaches their open
    pages now, in its place in the history."""

    room_id: str
    user_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class FilePosted:
    """An encrypted file is now an item of the room (its ciphertext has arrived): told, as
    a new message is, to exactly those who may read it. `payload`: metadata, no key."""

    room_id: str
    fact: FileFact
    payload: dict[str, Any]
    guest_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoticeAdded:
    """An in-app notification for one person (content-free: workspace/services/notices.py)."""

    user_id: str
    notice_id: str
    text: str
    link: str


@dataclass(frozen=True)
class PlanUpdated:
    """A committed change to a room's plan (a Yjs update message, [0, 2, update]), from an
    editor's socket or the JSON API: told to every socket joined to the plan, except the
    one it came from (`skip_sid`), which has it already."""

    room_id: str
    message: bytes
    skip_sid: str | None = None


@dataclass(frozen=True)
class PlanPublished:
    """The lead published a version of the plan: open plan pages say so."""

    room_id: str
    version: int
    signed_by: str  # their name
    signed_at: str  # ISO 8601


LiveEvent = (
    MessagePosted
    | MessageEdited
    | MessageShared
    | FilePosted
    | ReadUpTo
    | AccessChanged
    | CredentialEnded
    | NoticeAdded
    | PlanUpdated
    | PlanPublished
)


class Publisher(Protocol):
    async def start(self) -> None: ...
    async def publish(self, events: list[LiveEvent]) -> None: ...
    async def stop(self) -> None: ...


class NoPublisher:
    """For the CLI, the worker and tests without sockets: nobody is connected here."""

    async def start(self) -> None:
        return None

    async def publish(self, events: list[LiveEvent]) -> None:
        return None

    async def stop(self) -> None:
        return None
