"""Demo data (`caseroom demo`): four organisations and more, teams with managers, an IG
lead, and two children whose rooms span organisations, built through the same services
as real use (so the audit log and sharing decisions are real too)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from workspace.access import Access, Origin
from workspace.models import Organisation, User
from workspace.schemas import ChildIn, MemberIn, MessageIn, RoomIn
from workspace.services import accounts, front_door, members, messages, rooms
from workspace.state import Caseroom

CREDENTIALS_FILE = "demo-credentials.txt"
COUNCIL = "Northshire Council Children's Services"
POLICE = "Northshire Police"
HEALTH = "Northshire NHS Foundation Trust"
SCHOOL = "Oakfield Primary School"
HOUSING = "Northshire Homes"
FRONT_DOOR = "Front Door (MASH)"

ORGANISATIONS = [
    (COUNCIL, "local_authority"),
    (POLICE, "police"),
    (HEALTH, "health"),
    (SCHOOL, "education"),
    (HOUSING, "housing"),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    org: str
    role: str
    team: str | None
    what: str


USERS = [
    DemoUser(
        "sarah.social@council.example",
        "Sarah Okafor",
        COUNCIL,
        "practitioner",
        "Assessment Team North",
        "social worker, lead professional for both children",
    ),
    DemoUser(
        "mark.manager@council.example",
        "Mark Ellis",
        COUNCIL,
        "manager",
        "Assessment Team North",
        "team manager (reviews the access log; sets up TOTP)",
    ),
    DemoUser(
        "iris.ig@council.example",
        "Iris Grant",
        COUNCIL,
        "ig_lead",
        None,
        "information-governance lead (sets up TOTP)",
    ),
    DemoUser(
        "omar.other@council.example",
        "Omar Reid",
        COUNCIL,
        "practitioner",
        "Assessment Team South",
        "social worker in no room (sees nothing)",
    ),
    DemoUser(
        "fay.frontdoor@council.example",
        "Fay Adeyemi",
        COUNCIL,
        "practitioner",
        FRONT_DOOR,
        "front door (MASH) triager: the queue of concerns and events that match no room",
    ),
    DemoUser(
        "alex.admin@council.example",
        "Alex Price",
        COUNCIL,
        "admin",
        None,
        "account administrator (sees no case data)",
    ),
    DemoUser(
        "pete.police@police.example",
        "DC Pete Walsh",
        POLICE,
        "practitioner",
        "Public Protection Unit",
        "police officer in Jamie's room",
    ),
    DemoUser(
        "priya.manager@police.example",
        "DS Priya Shah",
        POLICE,
        "manager",
        "Public Protection Unit",
        "police team manager",
    ),
    DemoUser(
        "hana.health@nhs.example",
        "Hana Kowalski",
        HEALTH,
        "practitioner",
        "Health Visiting",
        "health visitor in both rooms",
    ),
    DemoUser(
        "dan.dsl@oakfield.example",
        "Dan Hughes",
        SCHOOL,
        "practitioner",
        "Safeguarding",
        "school DSL in Jamie's room",
    ),
    DemoUser(
        "holly.housing@homes.example",
        "Holly Brennan",
        HOUSING,
        "practitioner",
        "Tenancy Support",
        "housing officer in no room",
    ),
]


DEMO_CONCERN = {
    "child": {"name": "Kai Dawson", "date_of_birth": "2014-09-21"},
    "what_happened": "On a tenancy visit the flat was very cold, with no food in the "
    "kitchen; Kai (12) was at home alone at 11am on a school day.",
    "place": "Flat 4, Ash Court",
    "child_words": "Mum's been gone since yesterday but she'll be back.",
    "action_taken": "Stayed until a neighbour he knows arrived; raising this now.",
}


def _access(app: Caseroom, session: Session, email: str) -> Access:
    user = session.exec(select(User).where(User.email == email)).one()
    return Access(app, session, user, Origin("cli"), purpose="demo data")


def seed(app: Caseroom) -> str | None:
    """Create the demo; returns the password, or None if it exists already."""
    with app.db.session() as session:
        if session.exec(select(Organisation).where(Organisation.name == COUNCIL)).first():
            return None
        password = "demo-" + secrets.token_urlsafe(9)
        now = app.clock.now()
        for name, kind in ORGANISATIONS:
            accounts.add_organisation(session, name, kind, now)
        cli = Access(app, session, None, Origin("cli"), purpose="demo data")
        for u in USERS:
            accounts.add_user(
                cli,
                email=u.email,
                org_name=u.org,
                role=u.role,
                name=u.name,
                password=password,
                team_name=u.team,
            )
        accounts.set_front_door(cli, COUNCIL, FRONT_DOOR)
        session.commit()

        def member(lead: Access, room_id: str, email: str, purpose: str) -> None:
            members.add_member(
                lead,
                room_id,
                MemberIn(
                    email=email,
                    role="member",
                    purpose=purpose,
                    lawful_basis="safeguarding",
                    consent="not_sought",
                    consent_reason="Seeking consent could place the child at increased risk.",
                ),
            )

        sarah = _access(app, session, "sarah.social@council.example")
        jamie = rooms.create_room(
            sarah,
            RoomIn(
                title="Jamie Carter – child protection",
                plan_type="child_protection",
                child=ChildIn(
                    name="Jamie Carter",
                    date_of_birth=date(2017, 3, 14),
                    nhs_number="9434765919",
                    upn="A950000178301",
                    address="12 Elm Row, Northshire NS1 4AB",
                ),
            ),
        )
        member(sarah, jamie.room.id, "pete.police@police.example", "Core group: police")
        member(sarah, jamie.room.id, "hana.health@nhs.example", "Core group: health visiting")
        member(sarah, jamie.room.id, "dan.dsl@oakfield.example", "Core group: school DSL")
        lily = rooms.create_room(
            sarah,
            RoomIn(
                title="Lily Morgan – child in need",
                plan_type="child_in_need",
                child=ChildIn(
                    name="Lily Morgan", date_of_birth=date(2020, 7, 2), nhs_number="9912003888"
                ),
            ),
        )
        member(sarah, lily.room.id, "hana.health@nhs.example", "Health visiting")
        session.commit()

        script = [
            (
                "sarah.social@council.example",
                jamie.room.id,
                "decision",
                "room",
                "Initial child protection conference held; Jamie is subject to a plan under "
                "the category of neglect. First core group in 10 working days.",
            ),
            (
                "dan.dsl@oakfield.example",
                jamie.room.id,
                "fact",
                "room",
                "Jamie arrived at school without breakfast on three days this week and was "
                "wearing the same clothes.",
            ),
            (
                "hana.health@nhs.example",
                jamie.room.id,
                "opinion",
                "room",
                "In my professional opinion mum is struggling with her mental health; "
                "GP review booked.",
            ),
            (
                "pete.police@police.example",
                jamie.room.id,
                "fact",
                "restricted",
                "Police intelligence: mum's new partner has a previous conviction for assault. "
                "Not to be shared with the family.",
            ),
            (
                "sarah.social@council.example",
                lily.room.id,
                "note",
                "room",
                "Home visit completed; Lily seen alone and appeared settled.",
            ),
            (
                "hana.health@nhs.example",
                lily.room.id,
                "fact",
                "room",
                "Developmental review due next month.",
            ),
        ]
        for email, room_id, kind, sensitivity, body in script:
            author = _access(app, session, email)
            messages.post_message(
                author,
                room_id,
                MessageIn.model_validate({"body": body, "kind": kind, "sensitivity": sensitivity}),
            )  # type: ignore[arg-type]
            session.commit()
        # Something at the front door (issue #14): Holly's worry about a child with no room.
        front_door.raise_concern(
            _access(app, session, "holly.housing@homes.example"),
            front_door.ConcernIn.model_validate(DEMO_CONCERN),
        )
        session.commit()
    path = app.settings.data_dir / CREDENTIALS_FILE
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def credentials_text(app: Caseroom) -> str:
    path = app.settings.data_dir / CREDENTIALS_FILE
    password = (
        path.read_text().strip()
        if path.exists()
        else "(see the output of the first `caseroom demo`)"
    )
    lines = [f"Demo password for every account below: {password}", ""]
    for u in USERS:
        lines.append(f"  {u.email:34} {u.what}")
    lines.append("")
    lines.append("Managers, IG leads and admins set up an authenticator app at first sign-in.")
    return "\n".join(lines)
