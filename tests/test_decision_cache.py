"""Remembered policy decisions (issue #13; policy/decision_cache.py).

The Authorizer remembers each answer under the values of the question, with the moment
replaced by its place among the expiries that could change the answer. An answer it did
not remember is a Polar query by construction; what must be proved is that every answer
it gives from memory equals a fresh Polar query. So every question below is asked of the
caching Authorizer, and each answer that came from memory is asked again of one that
remembers nothing (`Checked`):

* the whole policy matrix (tests/test_policy_matrix.py: every cell of the demo world and
  every situation of Part 2), twice over, against the grids' answers;
* every person of Part 2 at moments on either side of each of their expiries (a guest's
  end, a break-glass window's end), asked in order of time, so that an answer remembered
  before an expiry is there to be wrongly reused after it;
* a day in the demo's rooms, driven through the API: a guest invited until tomorrow, new
  messages, a sharing decision, a member added and one removed, break-glass opened and its
  window ending, the guest's invitation ending, a room closed;
* and what the cache assumes of the policy: it compares the moment with nothing but the
  expiries the cache knows of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from policy.authorizer import POLICY_DIR, Authorizer
from policy.subjects import (
    WORKSPACE,
    AccountFact,
    AuditFact,
    FileFact,
    MessageFact,
    PlanVersionFact,
    Principal,
    RoomFact,
    Workspace,
)
from tests.conftest import DAN, HOLLY, OMAR, PRIYA, REMOVAL, SARAH, Tokens, user_by_email
from tests.mailing import add_member, post, room_of
from tests.test_break_glass import open_glass
from tests.test_member_removal import remove
from tests.test_policy_matrix import (
    ACCOUNT_GRID_ACTIONS,
    ACTORS,
    CELLS,
    ENDING_ACTIONS,
    FILE_ROOM_ACTIONS,
    RESOURCES,
    ROOM_ACTIONS,
    SHARING_ACTIONS,
    SITUATION_ROWS,
    WORKSPACE_ACTIONS,
    _load_demo,
    file_twin,
)
from tests.test_sharing import share
from workspace.clock import clock, iso
from workspace.facts import (
    PrincipalRows,
    file_fact,
    message_fact,
    plan_version_fact,
    principal_for,
    room_fact,
)
from workspace.models import EncryptedFile, Message, PlanVersion, Room, User
from workspace.services import break_glass
from workspace.state import Caseroom

# Every action the policy knows, by the kind of thing it is asked of.
ACTIONS: dict[type, tuple[str, ...]] = {
    RoomFact: (*ROOM_ACTIONS, *SHARING_ACTIONS, *FILE_ROOM_ACTIONS, "join"),
    MessageFact: ("read", "edit", "retract"),
    FileFact: ("read", "wrap_key"),
    PlanVersionFact: ("read",),
    AuditFact: ("read",),
    Workspace: WORKSPACE_ACTIONS,
    AccountFact: (*ACCOUNT_GRID_ACTIONS, *ENDING_ACTIONS),
}


def outcome(ask: Callable[[], object]) -> object:
    """An answer, or the error it raised (Polar refuses some questions, e.g. comparing nil:
    remembered and fresh must then fail alike)."""
    try:
        return ask()
    except Exception as exc:  # the error is the answer compared
        return type(exc).__name__


@pytest.fixture(scope="module")
def fresh() -> Authorizer:
    """Every answer a Polar query."""
    return Authorizer(cache=False)


class Checked:
    """The caching Authorizer, with every answer it gives from memory checked fresh."""

    def __init__(self, fresh: Authorizer) -> None:
        self.cached = Authorizer()
        self.fresh = fresh
        self.remembered = 0  # answers that came from memory (each checked)

    def ask(self, method: str, *args: Any) -> Any:
        assert self.cached.cache is not None
        hits = self.cached.cache.hits
        answer = outcome(lambda: getattr(self.cached, method)(*args))
        if self.cached.cache.hits > hits:
            self.remembered += 1
            fresh = outcome(lambda: getattr(self.fresh, method)(*args))
            assert answer == fresh, f"remembered {answer!r}, fresh {fresh!r}: {method}{args}"
        return answer

    def is_allowed(self, p: Principal, action: str, resource: Any) -> bool:
        return bool(self.ask("is_allowed", p, action, resource))

    def everything(self, p: Principal, resource: Any) -> None:
        """All the app asks about `p` and `resource`: each action; in a room, the allowed
        actions (the room page), the roles, break-glass and whether each membership has
        expired (the list filters)."""
        for action in ACTIONS[type(resource)]:
            self.ask("is_allowed", p, action, resource)
        if isinstance(resource, RoomFact):
            self.ask("allowed_actions", p, resource)
            self.room_rules(p, resource)

    def room_rules(self, p: Principal, room: RoomFact) -> None:
        self.ask("roles", p, room)
        self.ask("holds", "break_glass", p, room)
        for m in p.memberships_in(room.id):
            self.ask("holds", "not_expired", p, m)


@pytest.fixture
def checked(fresh: Authorizer) -> Checked:
    return Checked(fresh)


# --- the whole matrix ------------------------------------------------------------------------


def test_every_answer_of_the_policy_matrix_is_the_same_from_memory(
    template: dict[str, str],
) -> None:
    """Every cell of the demo grids and every situation of Part 2, files too, asked twice:
    the second time each answer comes from memory, and is still the grid's (which
    tests/test_policy_matrix.py holds fresh answers to). Two questions that shared a key
    would show here as a wrong answer."""
    engine = create_engine(template["url"], poolclass=NullPool)
    try:
        with Session(engine) as session:
            demo = _load_demo(session, clock.now())
    finally:
        engine.dispose()
    questions = [
        (demo.principals[c.actor], c.action, demo.resources[c.kind, c.resource], c.expected)
        for c in CELLS
    ]
    questions += [(ACTORS[a], action, RESOURCES[r], want) for a, action, r, want in SITUATION_ROWS]
    questions += [
        (p, action, file_twin(resource), want)
        for p, action, resource, want in questions
        if isinstance(resource, MessageFact) and action == "read"
    ]
    cached = Authorizer()
    for _ in range(2):
        for p, action, resource, want in questions:
            answer = "allow" if cached.is_allowed(p, action, resource) else "deny"
            assert answer == want, f"{p.id} | {action} | {resource}"
    assert cached.cache is not None and cached.cache.hits >= len(questions)


# --- time: each expiry crossed ---------------------------------------------------------------


def moments_around_expiries(p: Principal) -> list[float]:
    """The principal's own moment, and a second before and at each expiry, in order (at an
    expiry it has passed: the policy asks `expires_ts > now_ts`)."""
    expiries = [m.expires_ts for m in p.memberships if m.expires_ts is not None]
    expiries += [g.expires_ts for g in p.break_glass]
    return sorted({p.now_ts, *(e + d for e in expiries for d in (-1.0, 0.0))})


def test_an_answer_remembered_before_an_expiry_is_not_given_after_it(checked: Checked) -> None:
    """Every person of Part 2 at moments either side of each of their expiries, in order of
    time, asked their situations' questions, and the room rules of their situations' rooms."""
    questions: dict[str, list[tuple[str, str]]] = {}
    for actor, action, label, _ in SITUATION_ROWS:
        questions.setdefault(actor, []).append((action, label))
    changed: set[str] = set()
    for actor, asked in questions.items():
        before: dict[tuple[str, str], bool] = {}
        rooms = {label for _, label in asked if isinstance(RESOURCES[label], RoomFact)}
        for moment in moments_around_expiries(ACTORS[actor]):
            p = replace(ACTORS[actor], now_ts=moment)
            assert p.timeless == ACTORS[actor].timeless  # one key, but for the moment
            for room in sorted(rooms):
                checked.room_rules(p, RESOURCES[room])
            for action, label in [*asked, *(("view", room) for room in sorted(rooms))]:
                answer = checked.is_allowed(p, action, RESOURCES[label])
                if before.setdefault((action, label), answer) != answer:
                    changed.add(f"{actor}: {action} {label}")
                before[action, label] = answer
    assert checked.remembered > 0
    # The test can fail: had the moment been left out of the key, these answers, remembered
    # before the expiry, would have been given after it.
    assert {
        "guest: view open room",
        "police officer with break-glass: view open room",
        "police officer with break-glass: view closed room",
        "health manager with break-glass: view open room",
    } <= changed, sorted(changed)


# --- a day in the demo's rooms ---------------------------------------------------------------


@dataclass(frozen=True)
class World:
    principals: dict[str, Principal]  # by email
    resources: list[Any]

    def room(self, room_id: str) -> RoomFact:
        return next(r for r in self.resources if isinstance(r, RoomFact) and r.id == room_id)


def world_now(app: Caseroom) -> World:
    """Everyone and everything of the deployment as the policy sees it now."""
    now = clock.now()
    with app.db.session() as session:
        users = session.exec(select(User)).all()
        principals = {u.email: principal_for(session, u, now) for u in users}
        # Each as remembered between requests (workspace/facts.py) is as read afresh.
        rows = PrincipalRows.load(session, users)
        assert principals == {u.email: rows.principal(u, now) for u in users}
        leads = {u.id: u for u in users}
        rooms = {r.id: room_fact(r, leads[r.lead_user_id]) for r in session.exec(select(Room))}
        resources: list[Any] = [*rooms.values(), WORKSPACE]
        resources += [message_fact(m, rooms[m.room_id]) for m in session.exec(select(Message))]
        resources += [file_fact(f, rooms[f.room_id]) for f in session.exec(select(EncryptedFile))]
        versions = list(session.exec(select(PlanVersion).order_by(col(PlanVersion.version))))
        for v in versions:
            nexts = [w for w in versions if (w.room_id, w.version) == (v.room_id, v.version + 1)]
            replaced = nexts[0].signed_at if nexts else None
            resources.append(plan_version_fact(v, replaced, rooms[v.room_id]))
    return World(principals, resources)


@pytest.fixture
def search_limit() -> Iterator[None]:
    break_glass.search_limiter.reset()
    yield
    break_glass.search_limiter.reset()


def test_through_a_day_of_changes_every_remembered_answer_equals_a_fresh_one(
    app: Caseroom, client: TestClient, auth: Tokens, search_limit: None, checked: Checked
) -> None:
    jamie, lily = room_of(app, "Jamie").id, room_of(app, "Lily").id
    worlds: dict[str, World] = {}

    def everyone_asked_everything(step: str) -> World:
        """From the second step on, answers remembered at an earlier one are given again
        (about whatever did not change), each checked fresh."""
        world = world_now(app)
        remembered = checked.remembered
        for p in world.principals.values():
            for resource in world.resources:
                checked.everything(p, resource)
        assert not worlds or checked.remembered > remembered, f"{step}: nothing remembered"
        worlds[step] = world
        return world

    everyone_asked_everything("the demo as seeded")

    earlier = post(client, auth, SARAH, jamie, "Strategy discussion booked for Friday")
    clock.advance(timedelta(minutes=5))
    add_member(client, auth, jamie, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=1)))  # fmt: skip
    add_member(client, auth, lily, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=10)))  # fmt: skip
    clock.advance(timedelta(minutes=5))
    post(client, auth, DAN, jamie, "Attendance this week: 3 of 5 days")
    post(client, auth, SARAH, lily, "Case note", sensitivity="restricted")
    holly = user_by_email(app, HOLLY).id
    shared = share(client, auth, jamie, earlier["id"], holly)
    assert shared.status_code == 201, shared.text
    everyone_asked_everything("holly is a guest until tomorrow; new messages; one shared")

    add_member(client, auth, jamie, OMAR)
    assert remove(client, auth, jamie, DAN, json=REMOVAL).status_code == 204
    assert open_glass(client, auth, PRIYA).status_code == 201
    glass = everyone_asked_everything("omar joins, dan is removed, priya breaks the glass")

    clock.advance(timedelta(hours=4, seconds=1))
    everyone_asked_everything("four hours later, priya's window has ended")
    # Her principal from inside the window, asked after it: one key, but for the moment.
    priya = glass.principals[PRIYA]
    priya_after = replace(priya, now_ts=priya.now_ts + 4 * 3600 + 1)
    assert checked.is_allowed(priya, "view", glass.room(jamie))
    assert not checked.is_allowed(priya_after, "view", glass.room(jamie))

    clock.advance(timedelta(days=1))
    closed = client.post(f"/api/v1/rooms/{lily}/close", headers=auth(SARAH))
    assert closed.status_code == 204, closed.text
    later = everyone_asked_everything("a day later holly's invitation has ended; lily's closed")
    # Holly's facts are yesterday's but for the moment: its place among her expiries alone
    # tells her answers apart.
    holly_then = glass.principals[HOLLY]
    holly_now = later.principals[HOLLY]
    assert holly_now.timeless == holly_then.timeless
    assert holly_now.moment != holly_then.moment
    assert checked.is_allowed(holly_then, "view", glass.room(jamie))
    assert not checked.is_allowed(holly_now, "view", later.room(jamie))
    assert checked.is_allowed(holly_then, "view", glass.room(lily))  # open, in her invitation
    assert not checked.is_allowed(holly_now, "view", later.room(lily))  # closed


# --- what the cache assumes of the policy ----------------------------------------------------


def test_the_policy_compares_the_moment_only_with_the_expiries_the_cache_knows() -> None:
    """The key replaces `now_ts` with its place among the principal's memberships' and
    break-glass windows' `expires_ts` (Principal.moment). A rule that compared the moment
    with anything else would make remembered answers wrong: this test fails first."""
    uses = [
        code.strip()
        for path in sorted(POLICY_DIR.glob("*.polar"))
        for line in path.read_text().splitlines()
        if "now_ts" in (code := line.split("#", 1)[0])
    ]
    assert uses == [
        "m.expires_ts != nil and m.expires_ts > user.now_ts;",  # not_expired(user, m)
        "g.expires_ts > user.now_ts;",  # break_glass(user, room): g in user.break_glass
    ]


def test_the_key_holds_every_fact_of_the_principal_but_the_moment() -> None:
    """A field added to Principal is part of the key without anyone remembering to add it."""
    p = ACTORS["guest"]
    compared = [f.name for f in fields(Principal) if f.compare and f.name != "now_ts"]
    assert len(p.timeless.facts) == len(compared)
    for name in compared:
        value = next(v for a in ACTORS.values() if (v := getattr(a, name)) != getattr(p, name))
        assert replace(p, **{name: value}).timeless != p.timeless, name
    assert replace(p, now_ts=p.now_ts + 1).timeless == p.timeless


def test_memory_is_bounded(checked: Checked) -> None:
    small = Checked(checked.fresh)
    small.cached = Authorizer(cache_size=10)
    guest = ACTORS["guest"]
    for resource in RESOURCES.values():
        for _ in range(2):  # the second time from memory: the last ten answers are there
            small.everything(guest, resource)
    assert small.cached.cache is not None and len(small.cached.cache) == 10
    assert small.remembered > 0
