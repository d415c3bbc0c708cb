"""The policy for agency events (issue #14), asked directly of policy/caseroom.polar.

An integration account (a partner system) may send events and nothing else: against every
room, item and workspace action of the demo it is refused. Who must be told of an event,
and may acknowledge it: the lead of every event they may read; for a domestic abuse
incident also the school in the room (Operation Encompass); never someone who may not read
it (a restricted event stays with its organisation and the lead, rule 2).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from policy.authorizer import Authorizer, get_authorizer
from policy.subjects import WORKSPACE, AgencyEventFact, MessageFact, Principal
from tests.conftest import DAN, HANA, OMAR, PETE, SARAH
from tests.test_agency_events import POLICE_SYSTEM, integration_account
from tests.test_policy_matrix import DemoFacts, demo  # noqa: F401 (a fixture)
from workspace.clock import clock
from workspace.facts import principal_for, ts
from workspace.models import User
from workspace.services.demo import POLICE
from workspace.state import Caseroom

Y, N = True, False


@pytest.fixture
def authorizer() -> Authorizer:
    return get_authorizer()


@pytest.fixture
def system(app: Caseroom) -> Principal:
    integration_account(app, POLICE_SYSTEM, POLICE)
    with app.db.session() as session:
        return person(session, POLICE_SYSTEM)


def person(session: Session, email: str) -> Principal:
    user = session.exec(select(User).where(User.email == email)).one()
    return principal_for(session, user, clock.now())


def test_an_integration_account_sends_events_and_may_do_nothing_else(
    system: Principal, demo: DemoFacts, authorizer: Authorizer  # noqa: F811
) -> None:
    assert authorizer.allowed_actions(system, WORKSPACE) == {"send_agency_event"}
    for (kind, label), fact in demo.resources.items():
        if kind == "workspace":
            continue
        assert authorizer.allowed_actions(system, fact) == set(), f"{kind}: {label}"
        if kind == "room":
            assert not authorizer.is_allowed(system, "join", fact), label


def test_no_person_of_the_demo_sends_agency_events(
    demo: DemoFacts,  # noqa: F811
    authorizer: Authorizer,
) -> None:
    for name, principal in demo.principals.items():
        assert not authorizer.is_allowed(principal, "send_agency_event", WORKSPACE), name


# Who is told of an event sent to Jamie's room (lead Sarah; Pete police, Hana health, Dan
# the school's DSL; Omar in no room), by event type and sensitivity.
TOLD_GRID: list[tuple[str, str, dict[str, bool]]] = [
    ("domestic_abuse_incident", "room",
     {SARAH: Y, PETE: N, HANA: N, DAN: Y, OMAR: N}),
    ("domestic_abuse_incident", "restricted",
     {SARAH: Y, PETE: N, HANA: N, DAN: N, OMAR: N}),
    ("unscheduled_care_attendance", "room",
     {SARAH: Y, PETE: N, HANA: N, DAN: N, OMAR: N}),
    ("missing_episode", "room",
     {SARAH: Y, PETE: N, HANA: N, DAN: N, OMAR: N}),
    ("school_exclusion", "room",
     {SARAH: Y, PETE: N, HANA: N, DAN: N, OMAR: N}),
    ("arrest", "room",
     {SARAH: Y, PETE: N, HANA: N, DAN: N, OMAR: N}),
]  # fmt: skip


@pytest.mark.parametrize(("event_type", "sensitivity", "expected"), TOLD_GRID)
def test_who_is_told_of_an_event_and_may_acknowledge_it(
    app: Caseroom,
    authorizer: Authorizer,
    demo: DemoFacts,  # noqa: F811
    event_type: str,
    sensitivity: str,
    expected: dict[str, bool],
) -> None:
    jamie = demo.resources["room", "jamie room"]
    with app.db.session() as session:
        sender = person(session, PETE)  # written by the police's organisation
        item = MessageFact(
            id="event-item",
            room=jamie,
            author_id="system",
            author_org_id=sender.org_id,
            sensitivity=sensitivity,
            created_ts=ts(clock.now()),
        )
        fact = AgencyEventFact(id="event", event_type=event_type, item=item)
        got: dict[str, Any] = {}
        for email in expected:
            principal = person(session, email)
            told = authorizer.is_allowed(principal, "be_told", fact)
            assert told == authorizer.is_allowed(principal, "acknowledge", fact), email
            got[email] = told
    assert got == expected
