"""Who receives a live item: the policy as socket.io channel subscriptions.

Pushing an item to each socket after asking the policy per socket would cost one decision
per listener per message (500 listeners x 0.5 ms = 250 ms a message). Instead, when a
socket joins a room the policy is asked once which *kinds* of new item its user may read
there, using prototype items that are new ("created now": a guest joined before it, rule 3):

- ``r:{room}``             items of sensitivity "room"
- ``r:{room}:o:{org}``     "restricted" items written by organisation `org` (their own)
- ``r:{room}:x``           "restricted" items of any organisation (the lead professional)

An item is then emitted to the channels of its kind; socket.io delivers each socket once.
Subscriptions are decided again whenever access changes (realtime re-evaluates the
sockets), and tests/test_socket_audience.py proves, for every demo actor and every item,
that a socket receives an item exactly when `is_allowed(user, "read", item)`.
"""

from __future__ import annotations

from dataclasses import replace

from policy.authorizer import Authorizer
from policy.subjects import MessageFact, Principal, RoomFact

_ANY_OTHER_ORGANISATION = "\x00another organisation"


def room_channel(room_id: str) -> str:
    return f"r:{room_id}"


def org_channel(room_id: str, org_id: str) -> str:
    return f"r:{room_id}:o:{org_id}"


def restricted_channel(room_id: str) -> str:
    return f"r:{room_id}:x"


def user_channel(user_id: str) -> str:
    return f"u:{user_id}"


def subscriptions(authorizer: Authorizer, p: Principal, room: RoomFact) -> frozenset[str]:
    """The channels of `room` a socket of `p` joins; empty when `p` may not view it."""
    if not authorizer.is_allowed(p, "view", room):
        return frozenset()
    new_item = MessageFact(
        id="", room=room, author_id="", author_org_id=_ANY_OTHER_ORGANISATION,
        sensitivity="room", created_ts=p.now_ts,
    )  # fmt: skip
    channels: set[str] = set()
    if authorizer.is_allowed(p, "read", new_item):
        channels.add(room_channel(room.id))
    if authorizer.is_allowed(
        p, "read", replace(new_item, sensitivity="restricted", author_org_id=p.org_id)
    ):
        channels.add(org_channel(room.id, p.org_id))
    if authorizer.is_allowed(p, "read", replace(new_item, sensitivity="restricted")):
        channels.add(restricted_channel(room.id))
    return frozenset(channels)


def channels_for(item: MessageFact) -> list[str]:
    """Where a new item (or news about it: an edit, a read receipt) is emitted."""
    if item.sensitivity == "room":
        return [room_channel(item.room.id)]
    return [org_channel(item.room.id, item.author_org_id), restricted_channel(item.room.id)]
