"""The plain facts the policy reasons about. Built by workspace.access from the database
and handed to Oso fully loaded, so a check never touches the database (DESIGN.md §8)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, fields
from functools import cached_property


@dataclass(frozen=True)
class MembershipFact:
    room_id: str
    role: str
    joined_ts: float
    expires_ts: float | None
    revoked: bool


@dataclass(frozen=True)
class BreakGlassFact:
    room_id: str
    expires_ts: float


@dataclass(frozen=True)
class Principal:
    """A signed-in person as the policy sees them (Polar class `User`)."""

    id: str
    org_id: str
    org_kind: str
    team_id: str | None
    org_role: str
    now_ts: float
    managed_team_ids: tuple[str, ...] = ()
    memberships: tuple[MembershipFact, ...] = ()
    break_glass: tuple[BreakGlassFact, ...] = ()
    shared_item_ids: tuple[str, ...] = ()
    # In their organisation's front-door (MASH) team (issue #14).
    front_door: bool = False
    _by_room: dict[str, tuple[MembershipFact, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        by_room: dict[str, list[MembershipFact]] = {}
        for m in self.memberships:
            by_room.setdefault(m.room_id, []).append(m)
        self._by_room.update({k: tuple(v) for k, v in by_room.items()})

    def memberships_in(self, room_id: str) -> tuple[MembershipFact, ...]:
        return self._by_room.get(room_id, ())

    @cached_property
    def timeless(self) -> Timeless:
        """Everything the policy reads of this person but the moment: the key under which
        policy/decision_cache.py remembers their decisions (computed once: a principal
        with many memberships is slow to hash)."""
        facts = tuple(
            getattr(self, f.name) for f in fields(self) if f.compare and f.name != "now_ts"
        )
        return Timeless(facts, expiries(self.memberships, self.break_glass))

    @property
    def moment(self) -> int:
        """Where `now_ts` falls among the moments at which the policy's answers about this
        person can change: two principals with the same `timeless` and `moment` get the
        same answer to every question."""
        return bisect_right(self.timeless.expiries, self.now_ts)


def expiries(*facts: tuple[MembershipFact | BreakGlassFact, ...]) -> tuple[float, ...]:
    """Every moment the policy compares `now_ts` with (caseroom.polar: a membership's and
    a break-glass window's `expires_ts > user.now_ts`), sorted. An answer can change only
    when `now_ts` reaches one of them (tests/test_decision_cache.py holds the policy to it)."""
    return tuple(
        sorted({f.expires_ts for group in facts for f in group if f.expires_ts is not None})
    )


class Timeless:
    """A principal's facts without the moment, hashed once; and its expiries."""

    __slots__ = ("_hash", "expiries", "facts")

    def __init__(self, facts: tuple[object, ...], expiries: tuple[float, ...]) -> None:
        self.facts = facts
        self.expiries = expiries
        self._hash = hash(facts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Timeless) and self._hash == other._hash and self.facts == other.facts
        )


@dataclass(frozen=True)
class RoomFact:
    id: str
    status: str
    lead_user_id: str
    lead_org_id: str
    lead_team_id: str | None
    child_id: str


@dataclass(frozen=True)
class ItemFact:
    """Anything in a room that carries a sensitivity (rule 2): messages and files alike
    (Polar class `Item`); the read rules are written once, for items."""

    id: str
    room: RoomFact
    author_id: str
    author_org_id: str
    sensitivity: str
    created_ts: float


@dataclass(frozen=True)
class MessageFact(ItemFact):
    """A message (Polar class `Message`)."""


@dataclass(frozen=True)
class FileFact(ItemFact):
    """An end-to-end encrypted file (Polar class `File`); its author is the uploader."""


@dataclass(frozen=True)
class ChronologyEntryFact(ItemFact):
    """An entry of a room's chronology (Polar class `ChronologyEntry`, issue #15): an item,
    read by the rules for items. Its author's organisation is the agency the information
    comes from; its time (`created_ts`) is when the event happened, so a guest's
    chronology starts when they joined."""


@dataclass(frozen=True)
class AgencyEventFact:
    """What a partner system sent about a child, matched to a room (Polar class
    `AgencyEvent`, issue #14): its type, and the room's item it became."""

    id: str
    event_type: str
    item: MessageFact


@dataclass(frozen=True)
class ContactFact:
    """Something waiting at a local authority's front door (Polar class `Contact`)."""

    id: str
    org_id: str | None
    status: str
    reporter_id: str


@dataclass(frozen=True)
class ContactPhotoFact:
    """A photo added to a concern (Polar class `ContactPhoto`): it follows its concern,
    read at the front door while the concern is there and, once the concern is an item of
    a room (`item`, None until then), by whoever may read that item."""

    id: str
    contact: ContactFact
    item: MessageFact | None


@dataclass(frozen=True)
class PhotoOfferFact:
    """Someone a holder of a concern photo's key might be offered to pass it to (Polar
    class `PhotoOffer`): who they are, and whether they are in the concern's room now."""

    photo: ContactPhotoFact
    recipient_id: str
    recipient_org_id: str
    in_room: bool


@dataclass(frozen=True)
class PlanVersionFact:
    """A published version of a room's plan (Polar class `PlanVersion`): when it was
    signed off, and when the next version replaced it (None while it is the agreed one)."""

    id: str
    room: RoomFact
    version: int
    signed_ts: float
    superseded_ts: float | None


@dataclass(frozen=True)
class AuditFact:
    actor_id: str | None
    actor_org_id: str | None
    actor_team_id: str | None
    room_id: str | None
    room_lead_user_id: str | None
    room_lead_org_id: str | None
    room_lead_team_id: str | None


@dataclass(frozen=True)
class AccountFact:
    id: str
    org_id: str
    role: str


@dataclass(frozen=True)
class Workspace:
    """The deployment itself: the target of actions that have no other resource."""

    name: str = "caseroom"


WORKSPACE = Workspace()
