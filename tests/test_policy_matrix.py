"""The need-to-know policy (DESIGN.md §3) as a table an information-governance lead can
read and sign off.

How to read this file
---------------------
* Part 1 is the demo world (`caseroom demo`): ten people, two children's rooms, six
  messages, a sample of access-log events, the workspace itself and user accounts. Every
  grid lists, for every person, what the policy must answer: Y (allowed) or N (denied).
  Each cell becomes one pytest case, e.g. ``pete | post_message | jamie room | allow``, and
  is asked of the real policy (policy/caseroom.polar through the Authorizer) with the
  person's facts loaded from the seeded demo database.
* Files (issue #10) are items like messages: each demo message and each message of Part 2
  has a file twin (same room, author, sensitivity and time) that everyone may read exactly
  when they may read the message; uploading a file is posting a message.
* Part 2 covers situations the demo does not contain (guests, expiry, revocation, closed
  rooms, break-glass, administrators with a membership), written as one row per question.
* Part 3 asks the same questions through the HTTP API: lists answer exactly what the
  grids allow, and nothing else.

A rule not allowed here is denied (§3). If the policy changes, a grid must change with it.

The people (emails in tests/conftest.py):

    sarah  council social worker, lead professional of both rooms (Assessment Team North)
    mark   council team manager of Assessment Team North (Sarah's manager)
    iris   council information-governance lead
    omar   council social worker in another team (Assessment Team South), in no room
    alex   council account administrator
    pete   police officer (Public Protection Unit), member of Jamie's room
    priya  police team manager of the Public Protection Unit, in no room
    hana   health visitor, member of both rooms
    dan    school designated safeguarding lead, member of Jamie's room
    holly  housing officer, in no room
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select
from starlette.testclient import TestClient

from policy.authorizer import Authorizer, get_authorizer
from policy.subjects import (
    WORKSPACE,
    AccountFact,
    AuditFact,
    BreakGlassFact,
    ChronologyEntryFact,
    FileFact,
    MembershipFact,
    MessageFact,
    PlanVersionFact,
    Principal,
    RoomFact,
)
from tests.conftest import ALEX, DAN, FAY, HANA, HOLLY, IRIS, MARK, OMAR, PETE, PRIYA, SARAH, Tokens
from workspace.clock import clock
from workspace.facts import audit_fact, message_fact, principal_for, room_fact
from workspace.models import AuditEvent, Child, Message, Room, User
from workspace.state import Caseroom

Y = "allow"
N = "deny"

PEOPLE: dict[str, str] = {
    "sarah": SARAH,
    "mark": MARK,
    "iris": IRIS,
    "omar": OMAR,
    "fay": FAY,
    "alex": ALEX,
    "pete": PETE,
    "priya": PRIYA,
    "hana": HANA,
    "dan": DAN,
    "holly": HOLLY,
}
NAME_OF_EMAIL = {email: name for name, email in PEOPLE.items()}
ROOMS_BY_CHILD = {"Jamie Carter": "jamie", "Lily Morgan": "lily"}


# =========================================================================================
# Part 1. The demo world, person by person.
# =========================================================================================

# --- Rooms ------------------------------------------------------------------------------
# Rule 1: only an active membership shows a room. Rule 3: identifiers (date of birth, NHS
# number, address) for members and the lead. Rule 4: lead and members post and edit the
# plan; only the lead signs a version off. Rule 5: only the lead manages membership and closes.
# Rules 7 and 9: managers, IG leads and admins see no case data unless they are members.
# Rule 7 also: who could have seen an item ("review access") is answered for the room's
# lead, the manager of the lead's team and the IG lead of the lead's organisation
# (column "rv": review_access). Issue #12: the manager of the lead's team and the IG lead
# of the lead's organisation oversee the room (column "ov": oversee) without reading it.

ROOM_ACTIONS = (
    "view",
    "list_members",
    "list_messages",
    "see_child_identifiers",
    "post_message",
    "edit_plan",
    "publish_plan",
    "add_member",
    "remove_member",
    "change_role",
    "transfer_lead",
    "close",
    "review_access",
    "oversee",
)

ROOM_GRID: list[tuple[str, str, tuple[str, ...]]] = [
    #                  |----- reading -----|   |- writing --|   |--- the lead's duties --|
    #                  view members msgs ids   post plan sign   add remove role lead close rv ov
    ("sarah", "jamie", (Y,   Y,      Y,   Y,    Y,   Y,   Y,     Y,  Y,     Y,   Y,   Y,    Y, N)),
    ("sarah", "lily",  (Y,   Y,      Y,   Y,    Y,   Y,   Y,     Y,  Y,     Y,   Y,   Y,    Y, N)),
    ("mark",  "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    Y, Y)),
    ("mark",  "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    Y, Y)),
    ("iris",  "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    Y, Y)),
    ("iris",  "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    Y, Y)),
    ("omar",  "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("omar",  "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("fay",   "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("fay",   "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("alex",  "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("alex",  "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("pete",  "jamie", (Y,   Y,      Y,   Y,    Y,   Y,   N,     N,  N,     N,   N,   N,    N, N)),
    ("pete",  "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("priya", "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("priya", "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("hana",  "jamie", (Y,   Y,      Y,   Y,    Y,   Y,   N,     N,  N,     N,   N,   N,    N, N)),
    ("hana",  "lily",  (Y,   Y,      Y,   Y,    Y,   Y,   N,     N,  N,     N,   N,   N,    N, N)),
    ("dan",   "jamie", (Y,   Y,      Y,   Y,    Y,   Y,   N,     N,  N,     N,   N,   N,    N, N)),
    ("dan",   "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("holly", "jamie", (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
    ("holly", "lily",  (N,   N,      N,   N,    N,   N,   N,     N,  N,     N,   N,   N,    N, N)),
]  # fmt: skip

# --- Sharing decisions, the lead role, the room's history, read receipts, the plan -----
# Golden rule 7: record every decision to share or not. Rule 3: only the lead shares an
# earlier item; any member records a decision not to share; the lead and members read the
# room's sharing record and its history. Rule 5: the lead role goes to a local-authority
# member. Read receipts are left by the people in the room (not by break-glass, rule 8).
# Issue #11: everyone who sees the room reads its plan (nothing in it is restricted).

SHARING_ACTIONS = (
    "share_item", "record_sharing_decision", "read_sharing_record", "become_lead",
    "read_room_history", "mark_read", "read_plan",
)  # fmt: skip

SHARING_GRID: list[tuple[str, str, tuple[str, ...]]] = [
    #                  share  record a   read the    may become  read the  leave read  read the
    #                  item   decision   record      lead        history   receipts    plan
    ("sarah", "jamie", (Y,    Y,         Y,          Y,           Y,         Y,          Y)),
    ("sarah", "lily",  (Y,    Y,         Y,          Y,           Y,         Y,          Y)),
    ("mark",  "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("mark",  "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("iris",  "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("iris",  "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("omar",  "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("omar",  "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("fay",   "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("fay",   "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("alex",  "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("alex",  "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("pete",  "jamie", (N,    Y,         Y,          N,           Y,         Y,          Y)),
    ("pete",  "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("priya", "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("priya", "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("hana",  "jamie", (N,    Y,         Y,          N,           Y,         Y,          Y)),
    ("hana",  "lily",  (N,    Y,         Y,          N,           Y,         Y,          Y)),
    ("dan",   "jamie", (N,    Y,         Y,          N,           Y,         Y,          Y)),
    ("dan",   "lily",  (N,    N,         N,          N,           N,         N,          N)),
    ("holly", "jamie", (N,    N,         N,          N,           N,         N,          N)),
    ("holly", "lily",  (N,    N,         N,          N,           N,         N,          N)),
]  # fmt: skip

# --- Messages ---------------------------------------------------------------------------
# Rule 2: "room" messages reach everyone who can view the room; "restricted" ones only the
# author's organisation and the lead professional. Rule 4: authors edit and retract their
# own messages (while they may post).

MESSAGE_COLUMNS = (
    "jamie: sarah's decision",
    "jamie: dan's fact",
    "jamie: hana's opinion",
    "jamie: pete's police intelligence (restricted)",
    "lily: sarah's note",
    "lily: hana's fact",
)

MESSAGE_GRID: list[tuple[str, str, tuple[str, ...]]] = [
    #                      |---------- jamie's room ----------|   |-- lily's room --|
    #                      sarah  dan   hana  pete (restricted)   sarah  hana
    ("sarah", "read",      (Y,    Y,    Y,    Y,                  Y,     Y)),
    ("sarah", "edit",      (Y,    N,    N,    N,                  Y,     N)),
    ("sarah", "retract",   (Y,    N,    N,    N,                  Y,     N)),
    ("mark",  "read",      (N,    N,    N,    N,                  N,     N)),
    ("mark",  "edit",      (N,    N,    N,    N,                  N,     N)),
    ("mark",  "retract",   (N,    N,    N,    N,                  N,     N)),
    ("iris",  "read",      (N,    N,    N,    N,                  N,     N)),
    ("iris",  "edit",      (N,    N,    N,    N,                  N,     N)),
    ("iris",  "retract",   (N,    N,    N,    N,                  N,     N)),
    ("omar",  "read",      (N,    N,    N,    N,                  N,     N)),
    ("omar",  "edit",      (N,    N,    N,    N,                  N,     N)),
    ("omar",  "retract",   (N,    N,    N,    N,                  N,     N)),
    ("fay",   "read",      (N,    N,    N,    N,                  N,     N)),
    ("fay",   "edit",      (N,    N,    N,    N,                  N,     N)),
    ("fay",   "retract",   (N,    N,    N,    N,                  N,     N)),
    ("alex",  "read",      (N,    N,    N,    N,                  N,     N)),
    ("alex",  "edit",      (N,    N,    N,    N,                  N,     N)),
    ("alex",  "retract",   (N,    N,    N,    N,                  N,     N)),
    ("pete",  "read",      (Y,    Y,    Y,    Y,                  N,     N)),
    ("pete",  "edit",      (N,    N,    N,    Y,                  N,     N)),
    ("pete",  "retract",   (N,    N,    N,    Y,                  N,     N)),
    ("priya", "read",      (N,    N,    N,    N,                  N,     N)),
    ("priya", "edit",      (N,    N,    N,    N,                  N,     N)),
    ("priya", "retract",   (N,    N,    N,    N,                  N,     N)),
    ("hana",  "read",      (Y,    Y,    Y,    N,                  Y,     Y)),
    ("hana",  "edit",      (N,    N,    Y,    N,                  N,     Y)),
    ("hana",  "retract",   (N,    N,    Y,    N,                  N,     Y)),
    ("dan",   "read",      (Y,    Y,    Y,    N,                  N,     N)),
    ("dan",   "edit",      (N,    Y,    N,    N,                  N,     N)),
    ("dan",   "retract",   (N,    Y,    N,    N,                  N,     N)),
    ("holly", "read",      (N,    N,    N,    N,                  N,     N)),
    ("holly", "edit",      (N,    N,    N,    N,                  N,     N)),
    ("holly", "retract",   (N,    N,    N,    N,                  N,     N)),
]  # fmt: skip

# --- The access log ---------------------------------------------------------------------
# Rule 7: a team manager reads events whose actor is in their team and events about rooms
# led by their team; an IG lead the same for their organisation; a lead professional the
# events about their room. Nobody else reads audit.

AUDIT_COLUMNS: dict[str, tuple[str | None, str | None]] = {
    # event                     (actor, room the event is about)
    "sarah views jamie's room": ("sarah", "jamie"),
    "omar is refused jamie's room": ("omar", "jamie"),
    "pete posts in jamie's room": ("pete", "jamie"),
    "hana views lily's room": ("hana", "lily"),
    "mark signs in": ("mark", None),
    "omar signs in": ("omar", None),
    "pete signs in": ("pete", None),
    "holly signs in": ("holly", None),
    "the system adds a user": (None, None),
}

AUDIT_GRID: list[tuple[str, tuple[str, ...]]] = [
    #           |------------ about a room ------------|  |---------- no room ----------|
    #           sarah omar  pete  hana                    mark  omar  pete  holly system
    #           views tries posts views                   signs signs signs signs adds
    ("sarah",   (Y,   Y,    Y,    Y,                      N,    N,    N,    N,    N)),
    ("mark",    (Y,   Y,    Y,    Y,                      Y,    N,    N,    N,    N)),
    ("iris",    (Y,   Y,    Y,    Y,                      Y,    Y,    N,    N,    N)),
    ("omar",    (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("fay",     (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("alex",    (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("pete",    (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("priya",   (N,   N,    Y,    N,                      N,    N,    Y,    N,    N)),
    ("hana",    (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("dan",     (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
    ("holly",   (N,   N,    N,    N,                      N,    N,    N,    N,    N)),
]  # fmt: skip

# --- The workspace ----------------------------------------------------------------------
# Rooms are opened, and break-glass searches made, by practitioners and managers of the
# safeguarding partners (local authority, police, health; rule 8). Team managers and IG
# leads review the access log (rule 7). Administrators look after undelivered email to the
# accounts they manage (rule 9: the mail page shows no case data).

# Only a partner system's integration account sends agency events (issue #14; its own
# grid is in tests/test_agency_policy.py): no person of the demo does.
WORKSPACE_ACTIONS = (
    "create_room", "review_audit", "break_glass_search", "manage_mail", "manage_accounts",
    "add_account", "oversee_rooms", "send_agency_event", "raise_concern", "triage",
)  # fmt: skip

# Practitioners and managers raise concerns; the front door's team (Fay) triages them.
WORKSPACE_GRID: list[tuple[str, tuple[str, ...]]] = [
    #            create review break- manage manage   add     oversee send   raise  triage
    #            room   audit  glass  mail   accounts account rooms   agency concern
    ("sarah",   (Y,     N,     Y,     N,     N,       N,      N,      N,     Y,     N)),
    ("mark",    (Y,     Y,     Y,     N,     N,       N,      Y,      N,     Y,     N)),
    ("iris",    (N,     Y,     N,     N,     N,       N,      Y,      N,     N,     N)),
    ("omar",    (Y,     N,     Y,     N,     N,       N,      N,      N,     Y,     N)),
    ("fay",     (Y,     N,     Y,     N,     N,       N,      N,      N,     Y,     Y)),
    ("alex",    (N,     N,     N,     Y,     Y,       Y,      N,      N,     N,     N)),
    ("pete",    (Y,     N,     Y,     N,     N,       N,      N,      N,     Y,     N)),
    ("priya",   (Y,     Y,     Y,     N,     N,       N,      Y,      N,     Y,     N)),
    ("hana",    (Y,     N,     Y,     N,     N,       N,      N,      N,     Y,     N)),
    ("dan",     (N,     N,     N,     N,     N,       N,      N,      N,     Y,     N)),
    ("holly",   (N,     N,     N,     N,     N,       N,      N,      N,     Y,     N)),
]  # fmt: skip

# --- Accounts ---------------------------------------------------------------------------
# Rule 9: administrators manage the users of their own organisation.

ACCOUNT_COLUMNS = ("sarah's account", "alex's own account", "pete's account", "holly's account")

ACCOUNT_GRID: list[tuple[str, tuple[str, ...]]] = [
    #           sarah   alex    pete    holly
    #           council council police  housing
    ("sarah",   (N,     N,      N,      N)),
    ("mark",    (N,     N,      N,      N)),
    ("iris",    (N,     N,      N,      N)),
    ("omar",    (N,     N,      N,      N)),
    ("fay",     (N,     N,      N,      N)),
    ("alex",    (Y,     Y,      N,      N)),
    ("pete",    (N,     N,      N,      N)),
    ("priya",   (N,     N,      N,      N)),
    ("hana",    (N,     N,      N,      N)),
    ("dan",     (N,     N,      N,      N)),
    ("holly",   (N,     N,      N,      N)),
]  # fmt: skip
# Looking after an account (enabling it, moving it to another team) is the grid above; what
# ends every sign-in of an account (disabling it, resetting its second factor), changes its
# role, or sends a link to set its password, an administrator does only to someone else's,
# never to their own.
ACCOUNT_GRID_ACTIONS = ("manage", "enable_account", "unlock_account", "change_team")
ENDING_ACTIONS = ("disable_account", "reset_second_factor", "change_role", "send_password_link")

ENDING_GRID: list[tuple[str, tuple[str, ...]]] = [
    #           sarah   alex    pete    holly
    ("sarah",   (N,     N,      N,      N)),
    ("mark",    (N,     N,      N,      N)),
    ("iris",    (N,     N,      N,      N)),
    ("omar",    (N,     N,      N,      N)),
    ("fay",     (N,     N,      N,      N)),
    ("alex",    (Y,     N,      N,      N)),
    ("pete",    (N,     N,      N,      N)),
    ("priya",   (N,     N,      N,      N)),
    ("hana",    (N,     N,      N,      N)),
    ("dan",     (N,     N,      N,      N)),
    ("holly",   (N,     N,      N,      N)),
]  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One question of the matrix: may `actor` do `action` to `resource`?"""

    actor: str
    action: str
    kind: str  # room | message | audit | workspace | account
    resource: str
    expected: str

    def __str__(self) -> str:
        return f"{self.actor} | {self.action} | {self.resource} | {self.expected}"


def _cells() -> list[Cell]:
    cells: list[Cell] = []
    for actor, room, row in ROOM_GRID:
        for action, expected in zip(ROOM_ACTIONS, row, strict=True):
            cells.append(Cell(actor, action, "room", f"{room} room", expected))
    for actor, room, row in SHARING_GRID:
        for action, expected in zip(SHARING_ACTIONS, row, strict=True):
            cells.append(Cell(actor, action, "room", f"{room} room", expected))
    for actor, action, row in MESSAGE_GRID:
        for message, expected in zip(MESSAGE_COLUMNS, row, strict=True):
            cells.append(Cell(actor, action, "message", message, expected))
    for actor, row in AUDIT_GRID:
        for event, expected in zip(AUDIT_COLUMNS, row, strict=True):
            cells.append(Cell(actor, "read", "audit", f"event: {event}", expected))
    for actor, row in WORKSPACE_GRID:
        for action, expected in zip(WORKSPACE_ACTIONS, row, strict=True):
            cells.append(Cell(actor, action, "workspace", "the workspace", expected))
    for actions, grid in ((ACCOUNT_GRID_ACTIONS, ACCOUNT_GRID), (ENDING_ACTIONS, ENDING_GRID)):
        for actor, row in grid:
            for account, expected in zip(ACCOUNT_COLUMNS, row, strict=True):
                for action in actions:
                    cells.append(Cell(actor, action, "account", account, expected))
    return cells


CELLS = _cells()


@dataclass(frozen=True)
class DemoFacts:
    """The demo world as the policy sees it, loaded once from the seeded database."""

    principals: dict[str, Principal]
    resources: dict[tuple[str, str], Any]  # (kind, resource label) -> fact


def _message_label(room: str, author: str, sensitivity: str, body: str) -> str:
    for label in MESSAGE_COLUMNS:
        where, _, what = label.partition(": ")
        if where == room and what.startswith(f"{author}'s") and (
            ("(restricted)" in what) == (sensitivity == "restricted")
        ):
            return label
    raise AssertionError(f"unexpected demo message in {room} by {author}: {body[:40]}")


def _load_demo(session: Session, now: datetime) -> DemoFacts:
    users = {NAME_OF_EMAIL[u.email]: u for u in session.exec(select(User)).all()}
    assert set(users) == set(PEOPLE), "the demo has exactly the people of this matrix"
    principals = {name: principal_for(session, u, now) for name, u in users.items()}
    by_id = {u.id: name for name, u in users.items()}
    resources: dict[tuple[str, str], Any] = {}
    rooms: dict[str, Room] = {}
    room_facts: dict[str, RoomFact] = {}
    for room, child, lead in session.exec(
        select(Room, Child, User)
        .join(Child, Child.id == Room.child_id)  # type: ignore[arg-type]
        .join(User, User.id == Room.lead_user_id)  # type: ignore[arg-type]
    ).all():
        label = ROOMS_BY_CHILD[child.name]
        rooms[label] = room
        room_facts[label] = room_fact(room, lead)
        resources["room", f"{label} room"] = room_facts[label]
    room_label = {r.id: label for label, r in rooms.items()}
    for msg in session.exec(select(Message)).all():
        where = room_label[msg.room_id]
        label = _message_label(where, by_id[msg.author_id], msg.sensitivity, msg.body)
        resources["message", label] = message_fact(msg, room_facts[where])
    for event_label, (actor, room_name) in AUDIT_COLUMNS.items():
        who = users[actor] if actor else None
        event = AuditEvent(
            actor_id=who.id if who else None,
            actor_org_id=who.organisation_id if who else None,
            actor_team_id=who.team_id if who else None,
            room_id=rooms[room_name].id if room_name else None,
        )
        room = rooms[room_name] if room_name else None
        lead = session.get(User, room.lead_user_id) if room else None
        resources["audit", f"event: {event_label}"] = audit_fact(event, room, lead)
    resources["workspace", "the workspace"] = WORKSPACE
    for account_label in ACCOUNT_COLUMNS:
        owner = users[account_label.split("'")[0]]
        resources["account", account_label] = AccountFact(
            owner.id, owner.organisation_id, owner.org_role
        )
    return DemoFacts(principals, resources)


@pytest.fixture(scope="module")
def demo(template: dict[str, str]) -> DemoFacts:
    """Read the seeded demo once. The connection is closed before any test runs, so
    PostgreSQL can go on copying the template database for other tests."""
    engine = create_engine(template["url"], poolclass=NullPool)
    try:
        with Session(engine) as session:
            return _load_demo(session, clock.now())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    return get_authorizer()


def decide(authorizer: Authorizer, principal: Principal, action: str, resource: Any) -> str:
    return Y if authorizer.is_allowed(principal, action, resource) else N


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_demo_matrix(cell: Cell, demo: DemoFacts, authorizer: Authorizer) -> None:
    principal = demo.principals[cell.actor]
    resource = demo.resources[cell.kind, cell.resource]
    assert decide(authorizer, principal, cell.action, resource) == cell.expected


def test_the_grids_name_every_person_and_every_resource_once(demo: DemoFacts) -> None:
    """A reviewer can trust that nobody and nothing was left out of the tables."""
    people = list(PEOPLE)
    assert [(a, r) for a, r, _ in ROOM_GRID] == [(a, r) for a in people for r in ("jamie", "lily")]
    assert [(a, r) for a, r, _ in SHARING_GRID] == [(a, r) for a, r, _ in ROOM_GRID]
    assert [(a, x) for a, x, _ in MESSAGE_GRID] == [
        (a, x) for a in people for x in ("read", "edit", "retract")
    ]
    for grid in (AUDIT_GRID, WORKSPACE_GRID, ACCOUNT_GRID, ENDING_GRID):
        assert [a for a, _ in grid] == people
    demo_messages = {label for kind, label in demo.resources if kind == "message"}
    assert demo_messages == set(MESSAGE_COLUMNS)


def test_the_grids_cover_every_action_the_policy_knows(
    demo: DemoFacts, authorizer: Authorizer
) -> None:
    """The lead (with her manager, who oversees it) may do everything to a room, the author
    everything to their message, a manager and an admin between them everything to the
    workspace, an admin everything to an account of their organisation: if the policy gains
    an action, these tables must gain a column."""
    sarah, pete = demo.principals["sarah"], demo.principals["pete"]
    jamie = demo.resources["room", "jamie room"]
    # The lead does everything to her room but oversee it, which her manager does, and
    # answer a subject access request, which her organisation's IG lead does.
    assert authorizer.allowed_actions(sarah, jamie) | (
        authorizer.allowed_actions(demo.principals["mark"], jamie)
    ) | authorizer.allowed_actions(demo.principals["iris"], jamie) == {
        *ROOM_ACTIONS, *SHARING_ACTIONS, *FILE_ROOM_ACTIONS, *CHRONOLOGY_ROOM_ACTIONS,
        "subject_access", "join",
    }  # fmt: skip
    assert "oversee" not in authorizer.allowed_actions(sarah, jamie)
    police = demo.resources["message", "jamie: pete's police intelligence (restricted)"]
    assert authorizer.allowed_actions(pete, police) == {"read", "edit", "retract"}
    assert authorizer.allowed_actions(pete, file_twin(police)) == {"read", "wrap_key"}
    assert authorizer.allowed_actions(demo.principals["mark"], WORKSPACE) | (
        authorizer.allowed_actions(demo.principals["alex"], WORKSPACE)
    ) | {"send_agency_event", "raise_concern", "triage"} == set(WORKSPACE_ACTIONS)
    # (an integration account sends: tests/test_agency_policy.py; the others: the grid above)
    account = demo.resources["account", "sarah's account"]
    assert authorizer.allowed_actions(demo.principals["alex"], account) == {
        *ACCOUNT_GRID_ACTIONS, *ENDING_ACTIONS
    }


# --- Files (issue #10) -------------------------------------------------------------------
# A file is an item like a message (rules 2, 3, 6): it is read by exactly those who may read
# a message of the same room, author, sensitivity and age. Lead, members and guests upload
# files where they may post (rule 4); whoever may read a file and may still upload in the
# room wraps its key for more people.

FILE_ROOM_ACTIONS = ("upload_file",)


def file_twin(message: MessageFact) -> FileFact:
    return FileFact(
        message.id, message.room, message.author_id, message.author_org_id,
        message.sensitivity, message.created_ts,
    )  # fmt: skip


@pytest.mark.parametrize("actor", list(PEOPLE))
def test_demo_files_follow_the_message_rules(
    actor: str, demo: DemoFacts, authorizer: Authorizer
) -> None:
    principal = demo.principals[actor]
    for (kind, label), fact in demo.resources.items():
        if kind == "room":
            assert decide(authorizer, principal, "upload_file", fact) == decide(
                authorizer, principal, "post_message", fact
            ), label
        if kind == "message":
            twin = file_twin(fact)
            reads = decide(authorizer, principal, "read", fact)
            assert decide(authorizer, principal, "read", twin) == reads, label
            wraps = Y if reads == Y and decide(
                authorizer, principal, "post_message", fact.room
            ) == Y else N
            assert decide(authorizer, principal, "wrap_key", twin) == wraps, label


# --- The chronology (issue #15) ----------------------------------------------------------
# Everyone who sees a room reads its chronology (break-glass too, read-only); members of an
# open room add to it. Each entry is an item: read by exactly those who may read a message
# of the same room, agency, sensitivity and time (a guest's chronology starts when they
# joined; a restricted entry stays with its agency and the lead).

CHRONOLOGY_ROOM_ACTIONS = ("read_chronology", "add_to_chronology")


def entry_twin(message: MessageFact) -> ChronologyEntryFact:
    return ChronologyEntryFact(
        message.id, message.room, message.author_id, message.author_org_id,
        message.sensitivity, message.created_ts,
    )  # fmt: skip


@pytest.mark.parametrize("actor", list(PEOPLE))
def test_demo_chronology_follows_the_room_and_item_rules(
    actor: str, demo: DemoFacts, authorizer: Authorizer
) -> None:
    principal = demo.principals[actor]
    for (kind, label), fact in demo.resources.items():
        if kind == "room":
            assert decide(authorizer, principal, "read_chronology", fact) == decide(
                authorizer, principal, "view", fact
            ), label
            assert decide(authorizer, principal, "add_to_chronology", fact) == decide(
                authorizer, principal, "edit_plan", fact
            ), label
        if kind == "message":
            assert decide(authorizer, principal, "read", entry_twin(fact)) == decide(
                authorizer, principal, "read", fact
            ), label


def test_only_the_ig_lead_of_the_leads_organisation_answers_a_subject_access_request(
    demo: DemoFacts, authorizer: Authorizer
) -> None:
    """Issue #15: the whole record, restricted items too, for redaction: the one thing an
    IG lead reads of a room's content, and only of rooms their organisation leads."""
    for room in ("jamie", "lily"):
        fact = demo.resources["room", f"{room} room"]
        may = {n for n, p in demo.principals.items()
               if authorizer.is_allowed(p, "subject_access", fact)}  # fmt: skip
        assert may == {"iris"}, room


def test_anyone_but_an_administrator_may_be_made_a_member(
    demo: DemoFacts, authorizer: Authorizer
) -> None:
    """Rule 9: an administrator can never be added to a room ("join")."""
    lily = demo.resources["room", "lily room"]
    may_join = {
        name for name, p in demo.principals.items() if authorizer.is_allowed(p, "join", lily)
    }
    assert may_join == set(PEOPLE) - {"alex"}


def test_roles_in_jamies_room_the_lead_is_also_a_member(
    demo: DemoFacts, authorizer: Authorizer
) -> None:
    """The roles the policy grants in Jamie's room ("member" if "lead")."""
    jamie = demo.resources["room", "jamie room"]
    roles = {name: authorizer.roles(p, jamie) for name, p in demo.principals.items()}
    assert roles == {
        "sarah": {"lead", "member"},
        "mark": set(),
        "iris": set(),
        "omar": set(),
        "fay": set(),
        "alex": set(),
        "pete": {"member"},
        "priya": set(),
        "hana": {"member"},
        "dan": {"member"},
        "holly": set(),
    }


# =========================================================================================
# Part 2. Situations the demo lacks, built straight from the policy's facts.
# =========================================================================================

NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC; every time below is relative to it
MINUTE = 60.0
HOUR = 60 * MINUTE
DAY = 24 * HOUR

COUNCIL, POLICE, HEALTH, SCHOOL, CHARITY = "council", "police", "health", "school", "charity"
ORG_KIND = {
    COUNCIL: "local_authority",
    POLICE: "police",
    HEALTH: "health",
    SCHOOL: "education",
    CHARITY: "voluntary",
}

OPEN_ROOM = RoomFact("open-room", "open", "the-lead", COUNCIL, "council-team", "child-1")
CLOSED_ROOM = RoomFact("closed-room", "closed", "the-lead", COUNCIL, "council-team", "child-2")
ADMIN_LED_ROOM = RoomFact("admin-room", "open", "admin", COUNCIL, None, "child-3")
TEAM_A_ROOM = RoomFact("team-a-room", "open", "practitioner-a", COUNCIL, "team-a", "child-4")
POLICE_ROOM = RoomFact("police-room", "open", "officer", POLICE, "police-team", "child-5")


def person(
    who: str,
    org: str,
    *,
    role: str = "practitioner",
    team: str | None = None,
    manages: tuple[str, ...] = (),
    memberships: tuple[MembershipFact, ...] = (),
    glass: tuple[BreakGlassFact, ...] = (),
    shared: tuple[str, ...] = (),
    front_door: bool = False,
) -> Principal:
    return Principal(
        id=who,
        org_id=org,
        org_kind=ORG_KIND[org],
        team_id=team,
        org_role=role,
        now_ts=NOW,
        managed_team_ids=manages,
        memberships=memberships,
        break_glass=glass,
        shared_item_ids=shared,
        front_door=front_door,
    )


def joined(
    room: RoomFact,
    role: str,
    *,
    at: float,
    until: float | None = None,
    revoked: bool = False,
) -> MembershipFact:
    """A membership that began `at` seconds from NOW (negative: in the past)."""
    return MembershipFact(room.id, role, NOW + at, NOW + until if until else None, revoked)


def posted(
    msg_id: str,
    room: RoomFact,
    *,
    by: str,
    org: str,
    at: float,
    sensitivity: str = "room",
) -> MessageFact:
    return MessageFact(msg_id, room, by, org, sensitivity, NOW + at)


# The people of Part 2.
SHARED = ("shared-earlier", "shared-restricted", "shared-version")
ACTORS: dict[str, Principal] = {
    # Rule 3: a guest from a charity, invited 2 hours ago for 28 days; the lead shared two
    # earlier items with them.
    "guest": person(
        "guest",
        CHARITY,
        memberships=(joined(OPEN_ROOM, "guest", at=-2 * HOUR, until=28 * DAY),),
        shared=SHARED,
    ),
    "expired guest": person(
        "expired-guest",
        CHARITY,
        memberships=(joined(OPEN_ROOM, "guest", at=-40 * DAY, until=-1 * HOUR),),
        shared=SHARED,
    ),
    # A guest whose first invitation ran out 10 days ago and who was invited again 2 hours
    # ago: they see what was written after the *current* invitation, not the gap between.
    "re-invited guest": person(
        "re-invited",
        CHARITY,
        memberships=(
            joined(OPEN_ROOM, "guest", at=-20 * DAY, until=-10 * DAY),
            joined(OPEN_ROOM, "guest", at=-2 * HOUR, until=28 * DAY),
        ),
    ),
    # Rule 5: the lead role goes to a local-authority member of the room.
    "council member of the open room": person(
        "council-member", COUNCIL, memberships=(joined(OPEN_ROOM, "member", at=-DAY),)
    ),
    "health member of the open room": person(
        "health-member", HEALTH, memberships=(joined(OPEN_ROOM, "member", at=-DAY),)
    ),
    "removed member": person(
        "removed",
        HEALTH,
        memberships=(joined(OPEN_ROOM, "member", at=-30 * DAY, revoked=True),),
    ),
    "member whose access ended": person(
        "ended",
        HEALTH,
        memberships=(joined(OPEN_ROOM, "member", at=-30 * DAY, until=-1 * MINUTE),),
    ),
    "guest in a closed room": person(
        "closed-guest",
        CHARITY,
        memberships=(joined(CLOSED_ROOM, "guest", at=-20 * DAY, until=20 * DAY),),
    ),
    "member in a closed room": person(
        "closed-member",
        HEALTH,
        memberships=(joined(CLOSED_ROOM, "member", at=-60 * DAY),),
    ),
    "lead of a closed room": person(
        "the-lead",
        COUNCIL,
        memberships=(joined(CLOSED_ROOM, "lead", at=-60 * DAY),),
    ),
    # Issue #14: the council's front door (MASH) triages; it is in no room by being so.
    "front door triager": person("triager", COUNCIL, team="front-door", front_door=True),
    # Rule 8: break-glass, granted for 3 more hours on both rooms.
    "police officer with break-glass": person(
        "glass-police",
        POLICE,
        glass=(
            BreakGlassFact(OPEN_ROOM.id, NOW + 3 * HOUR),
            BreakGlassFact(CLOSED_ROOM.id, NOW + 3 * HOUR),
        ),
    ),
    "health manager with break-glass": person(
        "glass-health", HEALTH, role="manager", glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),)
    ),
    "police officer whose break-glass ended": person(
        "glass-ended", POLICE, glass=(BreakGlassFact(OPEN_ROOM.id, NOW - MINUTE),)
    ),
    "police officer with break-glass on another room": person(
        "glass-elsewhere", POLICE, glass=(BreakGlassFact("another-room", NOW + HOUR),)
    ),
    "school DSL with a break-glass record": person(
        "glass-school", SCHOOL, glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),)
    ),
    "police IG lead with a break-glass record": person(
        "glass-ig", POLICE, role="ig_lead", glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),)
    ),
    "charity worker with a break-glass record": person(
        "glass-charity", CHARITY, glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),)
    ),
    # A police guest of the open room who also holds a break-glass record for it (the
    # service refuses to open one; the policy does not count it either).
    "police guest with a break-glass record": person(
        "glass-guest",
        POLICE,
        memberships=(joined(OPEN_ROOM, "guest", at=-2 * HOUR, until=28 * DAY),),
        glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),),
    ),
    "council admin with a break-glass record": person(
        "glass-admin", COUNCIL, role="admin", glass=(BreakGlassFact(OPEN_ROOM.id, NOW + HOUR),)
    ),
    # Rule 9: an administrator who somehow holds a membership, or is recorded as lead.
    "admin with a membership": person(
        "admin",
        COUNCIL,
        role="admin",
        memberships=(
            joined(OPEN_ROOM, "member", at=-DAY),
            joined(ADMIN_LED_ROOM, "lead", at=-DAY),
        ),
    ),
    "another organisation's admin": person("police-admin", POLICE, role="admin"),
    # Rule 7 beyond the demo: a manager of two teams who works in a third.
    "manager of teams A and B (works in team C)": person(
        "manager-ab", COUNCIL, role="manager", team="team-c", manages=("team-a", "team-b")
    ),
    "practitioner in team A": person("practitioner-a", COUNCIL, team="team-a"),
    "police IG lead": person("police-ig", POLICE, role="ig_lead"),
}


def event(
    actor_org: str | None,
    actor_team: str | None,
    lead_org: str | None = None,
    lead_team: str | None = None,
) -> AuditFact:
    """An access-log event by someone in `actor_org`/`actor_team`, about a room led by
    someone in `lead_org`/`lead_team` (or about no room)."""
    room = "a-room" if lead_org else None
    return AuditFact(
        actor_id="someone" if actor_org else None,
        actor_org_id=actor_org,
        actor_team_id=actor_team,
        room_id=room,
        room_lead_user_id="a-lead" if room else None,
        room_lead_org_id=lead_org,
        room_lead_team_id=lead_team,
    )

def version(
    version_id: str, room: RoomFact, number: int, *, signed: float, replaced: float | None
) -> PlanVersionFact:
    """A published plan version signed `signed` seconds from NOW and replaced by the next
    one `replaced` seconds from NOW (None: still the agreed plan)."""
    return PlanVersionFact(
        version_id, room, number, NOW + signed, NOW + replaced if replaced else None
    )


# The things of Part 2. The guest joined the open room 2 hours ago.
RESOURCES: dict[str, Any] = {
    # Issue #11: the open room's plan was published three times (and once more before, a
    # version the lead shared with the guest); the closed room's once.
    "plan version 1 (replaced before the guest joined)": version(
        "v1", OPEN_ROOM, 1, signed=-10 * DAY, replaced=-5 * DAY
    ),
    "plan version 2 (the agreed plan when the guest joined)": version(
        "v2", OPEN_ROOM, 2, signed=-5 * DAY, replaced=-HOUR
    ),
    "plan version 3 (published after the guest joined)": version(
        "v3", OPEN_ROOM, 3, signed=-HOUR, replaced=None
    ),
    "earlier plan version the lead shared with the guest": version(
        "shared-version", OPEN_ROOM, 0, signed=-20 * DAY, replaced=-10 * DAY
    ),
    "plan version of the closed room": version(
        "closed-v1", CLOSED_ROOM, 1, signed=-30 * DAY, replaced=None
    ),
    "open room": OPEN_ROOM,
    "closed room": CLOSED_ROOM,
    "room led by the admin": ADMIN_LED_ROOM,
    "room led by team A": TEAM_A_ROOM,
    "police-led room": POLICE_ROOM,
    "message in the room led by team A": posted(
        "team-a-msg", TEAM_A_ROOM, by="practitioner-a", org=COUNCIL, at=-HOUR
    ),
    "message in the police-led room": posted(
        "police-room-msg", POLICE_ROOM, by="officer", org=POLICE, at=-HOUR
    ),
    "the workspace": WORKSPACE,
    "message from before the guest joined": posted(
        "earlier", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-3 * HOUR
    ),
    "earlier message the lead shared with the guest": posted(
        "shared-earlier", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-3 * HOUR
    ),
    "earlier restricted police message shared with the guest": posted(
        "shared-restricted", OPEN_ROOM, by="officer", org=POLICE, at=-3 * HOUR,
        sensitivity="restricted",
    ),
    "message posted the moment the guest joined": posted(
        "at-join", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-2 * HOUR
    ),
    "message posted after the guest joined": posted(
        "later", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-HOUR
    ),
    "message posted 5 days ago (between two guest invitations)": posted(
        "gap", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-5 * DAY
    ),
    "message posted 15 days ago (during the first guest invitation)": posted(
        "first-invitation", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-15 * DAY
    ),
    "restricted police message posted after the guest joined": posted(
        "police-later", OPEN_ROOM, by="officer", org=POLICE, at=-HOUR, sensitivity="restricted"
    ),
    "restricted charity message posted after the guest joined": posted(
        "charity-later", OPEN_ROOM, by="colleague", org=CHARITY, at=-HOUR,
        sensitivity="restricted",
    ),
    "the guest's own message": posted(
        "guest-own", OPEN_ROOM, by="guest", org=CHARITY, at=-30 * MINUTE
    ),
    "the removed member's own message": posted(
        "removed-own", OPEN_ROOM, by="removed", org=HEALTH, at=-2 * DAY
    ),
    "the admin's message in the open room": posted(
        "admin-own", OPEN_ROOM, by="admin", org=COUNCIL, at=-HOUR
    ),
    "restricted council message in the open room": posted(
        "council-restricted", OPEN_ROOM, by="the-lead", org=COUNCIL, at=-HOUR,
        sensitivity="restricted",
    ),
    "message in the closed room": posted(
        "closed-msg", CLOSED_ROOM, by="the-lead", org=COUNCIL, at=-10 * DAY
    ),
    "restricted police message in the closed room": posted(
        "closed-police", CLOSED_ROOM, by="officer", org=POLICE, at=-10 * DAY,
        sensitivity="restricted",
    ),
    "the closed-room member's own message": posted(
        "closed-own", CLOSED_ROOM, by="closed-member", org=HEALTH, at=-10 * DAY
    ),
    "restricted message in the room led by the admin": posted(
        "admin-room-restricted", ADMIN_LED_ROOM, by="someone", org=HEALTH, at=-HOUR,
        sensitivity="restricted",
    ),
    "event about the room led by the admin": AuditFact(
        actor_id="someone", actor_org_id=HEALTH, actor_team_id=None, room_id=ADMIN_LED_ROOM.id,
        room_lead_user_id="admin", room_lead_org_id=COUNCIL, room_lead_team_id=None,
    ),
    "event by team B, no room": event(COUNCIL, "team-b"),
    "event by team C, no room": event(COUNCIL, "team-c"),
    "event by team A, no room": event(COUNCIL, "team-a"),
    "event by a health worker about a room led by team A": event(HEALTH, None, COUNCIL, "team-a"),
    "event by a health worker about a room led by team C": event(HEALTH, None, COUNCIL, "team-c"),
    "event by a police officer, no room": event(POLICE, "police-team"),
    "event by a council worker about a police-led room": event(
        COUNCIL, "team-a", POLICE, "police-team"
    ),
    "event by a health worker about a health-led room": event(HEALTH, None, HEALTH, None),
    "event with no actor and no room": event(None, None),
    "a council account": AccountFact("someone-at-the-council", COUNCIL, "practitioner"),
    "a police account": AccountFact("someone-at-the-police", POLICE, "practitioner"),
    "a council manager's account": AccountFact("manager-at-the-council", COUNCIL, "manager"),
    "another council administrator's account": AccountFact("other-admin", COUNCIL, "admin"),
    "a council integration account": AccountFact("council-system", COUNCIL, "integration"),
}  # fmt: skip

SITUATIONS: list[tuple[str, list[tuple[str, str, str]]]] = [
    # --- Rule 3: a guest sees the room and who is in it, posts, but not identifiers -------
    ("guest", [
        # Issue #15: guests read the chronology (from when they joined); members add to it.
        ("read_chronology", "open room", Y),
        ("add_to_chronology", "open room", N),
        # Issue #11: guests read the draft plan, never edit it; of the published versions,
        # the one agreed when they joined and every later one, an earlier one if shared.
        ("read_plan", "open room", Y),
        ("read", "plan version 1 (replaced before the guest joined)", N),
        ("read", "plan version 2 (the agreed plan when the guest joined)", Y),
        ("read", "plan version 3 (published after the guest joined)", Y),
        ("read", "earlier plan version the lead shared with the guest", Y),
        ("publish_plan", "open room", N),
        ("mark_read", "open room", Y),
        ("view", "open room", Y),
        ("list_members", "open room", Y),
        ("list_messages", "open room", Y),
        ("see_child_identifiers", "open room", N),
        ("post_message", "open room", Y),
        ("edit_plan", "open room", N),
        ("publish_plan", "open room", N),
        ("add_member", "open room", N),
        ("close", "open room", N),
        # "Guests see only items created after they joined, or items the lead shared."
        ("read", "message from before the guest joined", N),
        ("read", "earlier message the lead shared with the guest", Y),
        ("read", "message posted the moment the guest joined", Y),
        ("read", "message posted after the guest joined", Y),
        # Rule 2 still holds for guests: restricted means the author's organisation only,
        # whether or not the item was shared.
        ("read", "restricted police message posted after the guest joined", N),
        ("read", "earlier restricted police message shared with the guest", N),
        ("read", "restricted charity message posted after the guest joined", Y),
        # Rule 4: guests edit and retract their own messages only.
        ("edit", "the guest's own message", Y),
        ("retract", "the guest's own message", Y),
        ("edit", "message posted after the guest joined", N),
        ("view", "closed room", N),
        # Golden rule 7: the sharing record is for the lead and members.
        ("share_item", "open room", N),
        ("record_sharing_decision", "open room", N),
        ("read_sharing_record", "open room", N),
        ("read_room_history", "open room", N),
        ("become_lead", "open room", N),
        ("change_role", "open room", N),
        ("transfer_lead", "open room", N),
    ]),
    # --- Rule 5 and golden rule 7 for members: record, read, and (council only) lead ----
    ("council member of the open room", [
        ("read_chronology", "open room", Y),
        ("add_to_chronology", "open room", Y),
        ("read_plan", "open room", Y),
        ("edit_plan", "open room", Y),
        ("publish_plan", "open room", N),
        ("read", "plan version 1 (replaced before the guest joined)", Y),
        ("read", "plan version 3 (published after the guest joined)", Y),
        ("record_sharing_decision", "open room", Y),
        ("read_sharing_record", "open room", Y),
        ("share_item", "open room", N),
        ("change_role", "open room", N),
        ("close", "open room", N),
        ("become_lead", "open room", Y),
    ]),
    ("health member of the open room", [
        ("record_sharing_decision", "open room", Y),
        ("become_lead", "open room", N),
    ]),
    # --- "Guest access ends at expires_at." -----------------------------------------------
    ("expired guest", [
        ("read_plan", "open room", N),
        ("read", "plan version 3 (published after the guest joined)", N),
        ("read", "earlier plan version the lead shared with the guest", N),
        ("view", "open room", N),
        ("list_messages", "open room", N),
        ("post_message", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("read", "earlier message the lead shared with the guest", N),
    ]),
    # A guest invited again sees only what was written after the current invitation.
    ("re-invited guest", [
        ("read", "plan version 1 (replaced before the guest joined)", N),
        ("read", "plan version 2 (the agreed plan when the guest joined)", Y),
        ("view", "open room", Y),
        ("read", "message posted after the guest joined", Y),
        ("read", "message posted 5 days ago (between two guest invitations)", N),
        ("read", "message posted 15 days ago (during the first guest invitation)", N),
    ]),
    # --- Rule 5: "A removed or expired member loses access at once." ---------------------
    ("removed member", [
        ("read_chronology", "open room", N),
        ("read_plan", "open room", N),
        ("edit_plan", "open room", N),
        ("read", "plan version 3 (published after the guest joined)", N),
        ("view", "open room", N),
        ("list_members", "open room", N),
        ("list_messages", "open room", N),
        ("post_message", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("read", "the removed member's own message", N),
        ("edit", "the removed member's own message", N),
    ]),
    ("member whose access ended", [
        ("view", "open room", N),
        ("read", "message posted after the guest joined", N),
    ]),
    # --- Rule 6: "Closed rooms are read-only; guests lose access when a room closes." ----
    ("guest in a closed room", [
        ("read_plan", "closed room", N),
        ("read", "plan version of the closed room", N),
        ("view", "closed room", N),
        ("list_messages", "closed room", N),
        ("post_message", "closed room", N),
        ("read", "message in the closed room", N),
        ("read_sharing_record", "closed room", N),
    ]),
    ("member in a closed room", [
        ("read_chronology", "closed room", Y),
        ("add_to_chronology", "closed room", N),
        ("read_plan", "closed room", Y),
        ("read", "plan version of the closed room", Y),
        ("view", "closed room", Y),
        ("list_members", "closed room", Y),
        ("list_messages", "closed room", Y),
        ("see_child_identifiers", "closed room", Y),
        ("post_message", "closed room", N),
        ("edit_plan", "closed room", N),
        ("read", "message in the closed room", Y),
        ("read", "restricted police message in the closed room", N),
        ("read", "the closed-room member's own message", Y),
        ("edit", "the closed-room member's own message", N),
        ("retract", "the closed-room member's own message", N),
        # The sharing record stays readable; nothing new is recorded in a closed room.
        ("read_sharing_record", "closed room", Y),
        ("read_room_history", "closed room", Y),
        ("record_sharing_decision", "closed room", N),
        ("become_lead", "closed room", N),
    ]),
    ("lead of a closed room", [
        ("read_plan", "closed room", Y),
        ("edit_plan", "closed room", N),
        ("view", "closed room", Y),
        ("read", "restricted police message in the closed room", Y),
        ("post_message", "closed room", N),
        ("publish_plan", "closed room", N),
        ("add_member", "closed room", N),
        ("remove_member", "closed room", N),
        ("transfer_lead", "closed room", N),
        ("close", "closed room", N),
        ("edit", "message in the closed room", N),
        ("change_role", "closed room", N),
        ("share_item", "closed room", N),
        ("read_sharing_record", "closed room", Y),
    ]),
    # --- Rule 8: break-glass opens a room read-only, restricted items stay closed --------
    ("police officer with break-glass", [
        ("read_chronology", "open room", Y),
        ("add_to_chronology", "open room", N),
        ("read_plan", "open room", Y),
        ("read", "plan version 1 (replaced before the guest joined)", Y),
        ("read", "plan version of the closed room", Y),
        ("publish_plan", "open room", N),
        ("view", "open room", Y),
        ("list_members", "open room", Y),
        ("list_messages", "open room", Y),
        ("see_child_identifiers", "open room", Y),
        ("read", "message from before the guest joined", Y),
        ("read", "message posted after the guest joined", Y),
        ("read", "restricted council message in the open room", N),
        ("read", "restricted police message posted after the guest joined", N),
        ("post_message", "open room", N),
        ("edit_plan", "open room", N),
        ("add_member", "open room", N),
        ("close", "open room", N),
        ("view", "closed room", Y),
        ("read", "message in the closed room", Y),
        ("read", "restricted police message in the closed room", N),
        ("list_members", "closed room", Y),
        ("post_message", "closed room", N),
        ("edit", "message posted after the guest joined", N),
        ("retract", "message posted after the guest joined", N),
        ("publish_plan", "open room", N),
        ("remove_member", "open room", N),
        ("read_sharing_record", "open room", N),
        ("read_room_history", "open room", N),
        ("mark_read", "open room", N),
        ("transfer_lead", "open room", N),
        ("review_access", "open room", N),
        ("break_glass_search", "the workspace", Y),
    ]),
    ("health manager with break-glass", [
        ("view", "open room", Y),
        ("read", "message posted after the guest joined", Y),
        ("break_glass_search", "the workspace", Y),
    ]),
    ("police officer whose break-glass ended", [
        ("read_chronology", "open room", N),
        ("read_plan", "open room", N),
        ("read", "plan version 3 (published after the guest joined)", N),
        ("view", "open room", N),
        ("read", "message posted after the guest joined", N),
    ]),
    ("police officer with break-glass on another room", [
        ("view", "open room", N),
    ]),
    # Only practitioners and managers of local authority, police and health may use it.
    ("school DSL with a break-glass record", [
        ("view", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("break_glass_search", "the workspace", N),
    ]),
    ("police IG lead with a break-glass record", [
        ("view", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("break_glass_search", "the workspace", N),
    ]),
    ("charity worker with a break-glass record", [
        ("view", "open room", N),
        ("list_messages", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("break_glass_search", "the workspace", N),
    ]),
    ("police guest with a break-glass record", [
        ("read", "plan version 1 (replaced before the guest joined)", N),
        ("read", "plan version 3 (published after the guest joined)", Y),
        ("view", "open room", Y),
        ("see_child_identifiers", "open room", N),
        ("read", "message from before the guest joined", N),
        ("read", "message posted after the guest joined", Y),
    ]),
    ("council admin with a break-glass record", [
        ("view", "open room", N),
        ("see_child_identifiers", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("break_glass_search", "the workspace", N),
    ]),
    # --- Rule 7: the access log, for teams and organisations the demo does not have -----
    # "A team manager reads audit events whose actor is in their team, and those about
    # rooms led by their team": the teams they manage, not the team they work in.
    ("manager of teams A and B (works in team C)", [
        ("read", "event by team A, no room", Y),
        ("read", "event by team B, no room", Y),
        ("read", "event by team C, no room", N),
        ("read", "event by a health worker about a room led by team A", Y),
        ("read", "event by a health worker about a room led by team C", N),
        ("read", "event by a police officer, no room", N),
        ("read", "event with no actor and no room", N),
        ("review_audit", "the workspace", Y),
        ("oversee_rooms", "the workspace", Y),
        ("oversee", "room led by team A", Y),
        ("oversee", "open room", N),
        ("view", "room led by team A", N),
        ("read", "message in the room led by team A", N),
    ]),
    # "Nobody else reads audit": not even a colleague in the same team.
    ("practitioner in team A", [
        ("read", "event by team A, no room", N),
        ("read", "event by a health worker about a room led by team A", N),
        ("review_audit", "the workspace", N),
        ("oversee_rooms", "the workspace", N),
        ("oversee", "room led by team A", N),
    ]),
    # "An IG lead reads events whose actor is in their organisation and those about rooms
    # led by their organisation."
    ("police IG lead", [
        ("read", "event by a police officer, no room", Y),
        ("read", "event by a council worker about a police-led room", Y),
        ("read", "event by team A, no room", N),
        ("read", "event by a health worker about a room led by team A", N),
        ("read", "event by a health worker about a health-led room", N),
        ("read", "event with no actor and no room", N),
        ("view", "open room", N),
        ("oversee_rooms", "the workspace", Y),
        ("oversee", "police-led room", Y),
        ("oversee", "open room", N),
        ("read", "message in the police-led room", N),
    ]),
    # --- Rule 9: "Admins manage users of their own organisation and see no case data." ---
    ("admin with a membership", [
        ("read_plan", "open room", N),
        ("edit_plan", "open room", N),
        ("read", "plan version 3 (published after the guest joined)", N),
        ("view", "open room", N),
        ("list_members", "open room", N),
        ("list_messages", "open room", N),
        ("post_message", "open room", N),
        ("read", "message posted after the guest joined", N),
        ("read", "the admin's message in the open room", N),
        ("edit", "the admin's message in the open room", N),
        ("view", "room led by the admin", N),
        ("close", "room led by the admin", N),
        ("read_sharing_record", "open room", N),
        ("become_lead", "open room", N),
        ("read", "restricted message in the room led by the admin", N),
        ("read", "event about the room led by the admin", N),
        ("join", "open room", N),
        ("manage", "a council account", Y),
        ("manage", "a police account", N),
    ]),
    ("another organisation's admin", [
        ("manage", "a council account", N),
        ("manage", "a police account", Y),
        ("change_role", "a council account", N),
        ("change_team", "a council account", N),
        ("send_password_link", "a council account", N),
    ]),
    # Roles an administrator gives and takes: practitioner, manager, IG lead; never an
    # administrator's or an integration account's (set from the command line).
    ("admin with a membership", [
        ("change_role", "a council account", Y),
        ("change_role", "a council manager's account", Y),
        ("change_role", "another council administrator's account", N),
        ("change_role", "a council integration account", N),
        ("change_team", "another council administrator's account", Y),
        ("change_team", "a council integration account", N),
        ("send_password_link", "another council administrator's account", Y),
        ("send_password_link", "a council integration account", N),
        ("disable_account", "another council administrator's account", Y),
    ]),
]  # fmt: skip

SITUATION_ROWS = [
    (actor, action, resource, expected)
    for actor, rows in SITUATIONS
    for action, resource, expected in rows
]


@pytest.mark.parametrize(
    ("actor", "action", "resource", "expected"),
    SITUATION_ROWS,
    ids=[" | ".join(row) for row in SITUATION_ROWS],
)
def test_situation(
    actor: str, action: str, resource: str, expected: str, authorizer: Authorizer
) -> None:
    assert decide(authorizer, ACTORS[actor], action, RESOURCES[resource]) == expected


@pytest.mark.parametrize("actor", list(ACTORS))
def test_files_follow_the_message_rules_in_every_situation(
    actor: str, authorizer: Authorizer
) -> None:
    """Guests (before and after they joined, shared items), expiry, revocation, closed
    rooms, break-glass and administrators: the same answers for a file as for a message."""
    principal = ACTORS[actor]
    for label, fact in RESOURCES.items():
        if isinstance(fact, RoomFact):
            assert decide(authorizer, principal, "upload_file", fact) == decide(
                authorizer, principal, "post_message", fact
            ), label
        if isinstance(fact, MessageFact):
            assert decide(authorizer, principal, "read", file_twin(fact)) == decide(
                authorizer, principal, "read", fact
            ), label


# =========================================================================================
# Part 3. The same answers through the HTTP API: lists show exactly what is allowed.
# =========================================================================================

NOT_FOUND = "404"

# GET /api/v1/rooms: rule 1, nobody else learns a room exists.
ROOM_LISTS: dict[str, set[str]] = {
    "sarah": {"jamie", "lily"},
    "mark": set(),
    "iris": set(),
    "omar": set(),
    "fay": set(),
    "alex": set(),
    "pete": {"jamie"},
    "priya": set(),
    "hana": {"jamie", "lily"},
    "dan": {"jamie"},
    "holly": set(),
}

# GET /api/v1/rooms/{id}/messages, by "room: author" (rule 2: Pete's restricted police
# intelligence reaches only the police and the lead; others get 404 for the whole room).
JAMIE_ALL = {
    "jamie: sarah's decision",
    "jamie: dan's fact",
    "jamie: hana's opinion",
    "jamie: pete's police intelligence (restricted)",
}
JAMIE_ROOM_ONLY = JAMIE_ALL - {"jamie: pete's police intelligence (restricted)"}
LILY_ALL = {"lily: sarah's note", "lily: hana's fact"}

MESSAGE_LISTS: dict[str, dict[str, set[str] | str]] = {
    "sarah": {"jamie": JAMIE_ALL, "lily": LILY_ALL},
    "mark": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "iris": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "omar": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "fay": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "alex": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "pete": {"jamie": JAMIE_ALL, "lily": NOT_FOUND},
    "priya": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
    "hana": {"jamie": JAMIE_ROOM_ONLY, "lily": LILY_ALL},
    "dan": {"jamie": JAMIE_ROOM_ONLY, "lily": NOT_FOUND},
    "holly": {"jamie": NOT_FOUND, "lily": NOT_FOUND},
}

# GET /api/v1/audit: which of these recorded attempts each person finds in the log.
PROBES: dict[str, tuple[str, str, str | None]] = {
    # probe                          (who, which request, room)
    "omar lists his rooms": ("omar", "GET /rooms", None),
    "omar tries jamie's room": ("omar", "GET /rooms/{id}", "jamie"),
    "mark lists his rooms": ("mark", "GET /rooms", None),
    "pete reads jamie's messages": ("pete", "GET /rooms/{id}/messages", "jamie"),
    "priya lists her rooms": ("priya", "GET /rooms", None),
    "holly tries lily's room": ("holly", "GET /rooms/{id}", "lily"),
    "hana views lily's room": ("hana", "GET /rooms/{id}", "lily"),
    "alex lists his rooms": ("alex", "GET /rooms", None),
}
PROBE_ACTION = {"GET /rooms": "list_rooms", "GET /rooms/{id}": "view"}
ABOUT_SARAHS_ROOMS = {
    "omar tries jamie's room",
    "pete reads jamie's messages",
    "holly tries lily's room",
    "hana views lily's room",
}
AUDIT_LISTS: dict[str, set[str]] = {
    # the lead professional: everything about her rooms
    "sarah": ABOUT_SARAHS_ROOMS,
    # Sarah's team manager: her team's actions, and her team's rooms
    "mark": ABOUT_SARAHS_ROOMS | {"mark lists his rooms"},
    # the council IG lead: council people, and council-led rooms
    "iris": ABOUT_SARAHS_ROOMS
    | {"mark lists his rooms", "omar lists his rooms", "alex lists his rooms"},
    "omar": set(),
    "fay": set(),
    "alex": set(),
    "pete": set(),
    # the police team manager: the Public Protection Unit's actions only
    "priya": {"pete reads jamie's messages", "priya lists her rooms"},
    "hana": set(),
    "dan": set(),
    "holly": set(),
}


def _room_ids(client: TestClient, auth: Tokens) -> dict[str, str]:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return {ROOMS_BY_CHILD[r["child"]["name"]]: r["id"] for r in rooms}


def _all_pages(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        sep = "&" if "?" in path else "?"
        response = client.get(f"{path}{sep}limit=200&cursor={cursor}", headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if not page["next"]:
            return items
        cursor = page["next"]


def test_room_list_shows_each_person_exactly_their_rooms(
    client: TestClient, auth: Tokens
) -> None:
    seen = {
        name: {
            ROOMS_BY_CHILD[r["child"]["name"]]
            for r in _all_pages(client, "/api/v1/rooms", auth(email))
        }
        for name, email in PEOPLE.items()
    }
    assert seen == ROOM_LISTS


def test_message_list_shows_each_person_exactly_the_messages_they_may_read(
    client: TestClient, auth: Tokens
) -> None:
    room_ids = _room_ids(client, auth)
    seen: dict[str, dict[str, set[str] | str]] = {}
    for name, email in PEOPLE.items():
        seen[name] = {}
        for room, room_id in room_ids.items():
            path = f"/api/v1/rooms/{room_id}/messages"
            response = client.get(path, headers=auth(email))
            if response.status_code == 404:
                seen[name][room] = NOT_FOUND
                continue
            seen[name][room] = {
                _message_label(
                    room,
                    NAME_OF_EMAIL[m["author"]["email"]],
                    m["sensitivity"],
                    m["body"],
                )
                for m in _all_pages(client, path, auth(email))
            }
    assert seen == MESSAGE_LISTS


def test_audit_list_shows_each_person_exactly_the_events_they_may_read(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Rule 7, through GET /api/v1/audit: first some recorded attempts (the probes), then
    each person's audit list must (a) contain exactly the probes of AUDIT_LISTS and (b)
    equal, event for event, what the policy allows them at the moment of asking."""
    room_ids = _room_ids(client, auth)
    for who, request, room in PROBES.values():
        room_id = room_ids[room] if room else ""
        path = "/api/v1" + request.removeprefix("GET ").replace("{id}", room_id)
        client.get(path, headers=auth(PEOPLE[who]))

    returned: dict[str, list[dict[str, Any]]] = {
        name: _all_pages(client, "/api/v1/audit", auth(email)) for name, email in PEOPLE.items()
    }

    def probe_seen(items: list[dict[str, Any]], probe: str) -> bool:
        who, request, room = PROBES[probe]
        action = PROBE_ACTION.get(request, "list_messages")
        return any(
            e["actor"] is not None
            and e["actor"]["email"] == PEOPLE[who]
            and e["action"] == action
            and e["room_id"] == (room_ids[room] if room else None)
            for e in items
        )

    assert {
        name: {probe for probe in PROBES if probe_seen(items, probe)}
        for name, items in returned.items()
    } == AUDIT_LISTS

    with app.db.session() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        rooms = {r.id: r for r in session.exec(select(Room)).all()}
        users = {u.id: u for u in session.exec(select(User)).all()}
        authorizer = get_authorizer()
        for name, email in PEOPLE.items():
            user = next(u for u in users.values() if u.email == email)
            asked_at = min(
                e.seq for e in events if e.actor_id == user.id and e.action == "list_audit"
            )
            principal = principal_for(session, user, clock.now())
            allowed = set()
            for e in events:
                room = rooms.get(e.room_id or "")
                lead = users[room.lead_user_id] if room else None
                if e.seq < asked_at and authorizer.is_allowed(
                    principal, "read", audit_fact(e, room, lead)
                ):
                    allowed.add(e.id)
            assert {e["id"] for e in returned[name]} == allowed, name


def test_a_guests_actions_on_a_plan_version_can_be_listed_whether_or_not_it_was_replaced() -> None:
    """Listing actions tries every branch of a rule: a replaced-or-not test written with
    `or` compared nil with a number for the agreed version, a PolarRuntimeError."""
    from policy.authorizer import Authorizer
    from policy.subjects import MembershipFact, PlanVersionFact, Principal, RoomFact

    policy = Authorizer(cache=False)
    room = RoomFact("r", "open", "lead", "org-lead", "team", "child")
    guest = Principal(
        id="g", org_id="org-school", org_kind="school", team_id=None, org_role="practitioner",
        now_ts=100.0, memberships=(MembershipFact("r", "guest", 50.0, 200.0, False),),
    )  # fmt: skip
    agreed = PlanVersionFact("v1", room, 1, 10.0, None)
    replaced_before_joining = PlanVersionFact("v0", room, 0, 5.0, 40.0)
    replaced_after_joining = PlanVersionFact("v2", room, 2, 20.0, 60.0)
    assert policy.allowed_actions(guest, agreed) == {"read"}
    assert policy.allowed_actions(guest, replaced_before_joining) == set()
    assert policy.allowed_actions(guest, replaced_after_joining) == {"read"}
