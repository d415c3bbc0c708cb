"""The sockets this process holds: whose they are, which rooms they joined, which
channels of each room they listen on, which plans they joined (and whether they may edit
them), and when their access or their credential must be decided again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workspace.services.accounts import KnownPerson


@dataclass
class Joined:
    channels: frozenset[str]
    recheck_at: float | None = None  # an expiry (guest access, break-glass)


@dataclass
class PlanSession:
    """A socket joined to a room's plan (`plan:join`): an editing session."""

    can_edit: bool
    recheck_at: float | None = None  # an expiry (guest access, break-glass)
    # Its first edit is audited; the rest of the session's are not (per keystroke).
    edit_recorded: bool = False


@dataclass
class SocketInfo:
    sid: str
    user_id: str
    user_name: str
    credential: str  # "token:<secret>" or "session:<secret>", checked again on every event
    digest: str  # the credential's stored hash, as `CredentialEnded` names it
    ip: str | None
    user_agent: str | None
    rooms: dict[str, Joined] = field(default_factory=dict)
    plans: dict[str, PlanSession] = field(default_factory=dict)
    # When the credential stops working by itself (a session's idle or absolute timeout).
    ends_at: float | None = None
    ends_why: str | None = None
    # When (the app's clock) the credential was last checked against the database, and
    # last counted as the person's activity (realtime/auth.py `trusted`).
    verified_at: float | None = None
    touched_at: float | None = None
    closing: bool = False  # set before the first await of a closing, so it happens once
    # The holder's rows as their last event read them (reused while the access epoch is
    # as it was); only ever used by the one writer of socket events (group_commit.py).
    known: KnownPerson | None = None


class Registry:
    def __init__(self) -> None:
        self.sockets: dict[str, SocketInfo] = {}

    def add(self, info: SocketInfo) -> None:
        self.sockets[info.sid] = info

    def remove(self, sid: str) -> SocketInfo | None:
        return self.sockets.pop(sid, None)

    def get(self, sid: str) -> SocketInfo | None:
        return self.sockets.get(sid)

    def in_room(self, room_id: str, user_id: str | None = None) -> list[SocketInfo]:
        return [
            s
            for s in self.sockets.values()
            if (room_id in s.rooms or room_id in s.plans)
            and (user_id is None or s.user_id == user_id)
        ]

    def of_user(self, user_id: str) -> list[SocketInfo]:
        return [s for s in self.sockets.values() if s.user_id == user_id]

    def opened_with(self, digest: str) -> list[SocketInfo]:
        return [s for s in self.sockets.values() if s.digest == digest]

    def credential_due(self, now_ts: float) -> list[SocketInfo]:
        return [s for s in self.sockets.values() if s.ends_at is not None and s.ends_at <= now_ts]

    def due(self, now_ts: float) -> list[tuple[SocketInfo, str]]:
        found: list[tuple[SocketInfo, str]] = []
        for s in self.sockets.values():
            times = [(room_id, j.recheck_at) for room_id, j in s.rooms.items()]
            times += [(room_id, p.recheck_at) for room_id, p in s.plans.items()]
            for room_id in dict.fromkeys(r for r, at in times if at is not None and at <= now_ts):
                found.append((s, room_id))
        return found
