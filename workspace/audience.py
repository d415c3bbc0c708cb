"""Who receives a live item: the policy as socket.io channel subscriptions.

Pushing an item to each socket after asking the policy per socket would cost one decision
per listener per message (500 listeners x 0.5 ms = 250 ms a message). Instead, when a
socket joins a room the policy is asked once which *kinds* of item its user may read
there, whatever their age: news of an old item (an edit, a retraction, a read receipt) goes
out on the same channels as a new one, so a channel may carry only what every listener on
it may read, old or new. The prototype items are therefore as old as can be:

- ``r:{room}``             items of sensitivity "room"
- ``r:{room}:o:{org}``     "restricted" items written by organisation `org` (their own)
- ``r:{room}:x``           "restricted" items of any organisation (the lead professional)
- ``r:{room}:p``           presence and typing: everyone who may view the room
- ``r:{room}:u:{user}``    news for one person in this room (below)
- ``r:{room}:plan``        the room's plan: its updates and awareness (`plan_channel`)

Guests read some items of a kind and not others (rule 3: what came after they joined, and
what was shared with them), so they join no item channel: each item's news reaches them on
their own channel in the room, to the guests the policy says may read that item, asked
one guest at a time when the news is made (`Access.guest_readers`; a room has few guests).
Like every room channel it is joined on an audited `join` and left when access ends, so
news of a room never reaches a socket that has not joined it.

Subscriptions are decided again whenever access changes (realtime re-evaluates the
sockets), and tests/test_socket_audience.py proves, for every demo actor, guests and
break-glass included, and every item, old, new, restricted and shared, that a socket
receives news of an item exactly when `is_allowed(user, "read", item)`.
"""

from __future__ import annotations

from dataclasses import replace

from policy.authorizer import Authorizer
from policy.subjects import ItemFact, MessageFact, Principal, RoomFact

_ANY_OTHER_ORGANISATION = "\x00another organisation"
_THE_BEGINNING = 0.0  # created_ts of the oldest item there could be


def room_channel(room_id: str) -> str:
    return f"r:{room_id}"


def org_channel(room_id: str, org_id: str) -> str:
    return f"r:{room_id}:o:{org_id}"


def restricted_channel(room_id: str) -> str:
    return f"r:{room_id}:x"


def presence_channel(room_id: str) -> str:
    return f"r:{room_id}:p"


def personal_channel(room_id: str, user_id: str) -> str:
    return f"r:{room_id}:u:{user_id}"


def plan_channel(room_id: str) -> str:
    """The room's plan (issue #11): everyone who may read it (a plan has no restricted
    parts), joined by `plan:join` and left when access ends, like the room's channels."""
    return f"r:{room_id}:plan"


def user_channel(user_id: str) -> str:
    return f"u:{user_id}"


def subscriptions(authorizer: Authorizer, p: Principal, room: RoomFact) -> frozenset[str]:
    """The channels of `room` a socket of `p` joins; empty when `p` may not view it."""
    if not authorizer.is_allowed(p, "view", room):
        return frozenset()
    oldest_item = MessageFact(
        id="", room=room, author_id="", author_org_id=_ANY_OTHER_ORGANISATION,
        sensitivity="room", created_ts=_THE_BEGINNING,
    )  # fmt: skip
    channels: set[str] = {presence_channel(room.id), personal_channel(room.id, p.id)}
    if authorizer.is_allowed(p, "read", oldest_item):
        channels.add(room_channel(room.id))
    if authorizer.is_allowed(
        p, "read", replace(oldest_item, sensitivity="restricted", author_org_id=p.org_id)
    ):
        channels.add(org_channel(room.id, p.org_id))
    if authorizer.is_allowed(p, "read", replace(oldest_item, sensitivity="restricted")):
        channels.add(restricted_channel(room.id))
    return frozenset(channels)


def channels_for(item: ItemFact, guest_ids: tuple[str, ...] = ()) -> list[str]:
    """Where an item (a message or a file), or news about it (an edit, a read receipt),
    is emitted; `guest_ids`: the guests who may read it."""
    guests = [personal_channel(item.room.id, g) for g in guest_ids]
    if item.sensitivity == "room":
        return [room_channel(item.room.id), *guests]
    return [
        org_channel(item.room.id, item.author_org_id), restricted_channel(item.room.id), *guests
    ]
