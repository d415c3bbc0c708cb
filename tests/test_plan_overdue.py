"""An action becoming overdue notifies its owner and the room's lead, in the app and
through the mail outbox, once (issue #11 item 5): once per action and due date, however
often the worker looks; again only when a new due date passes. The emails say nothing of
the action: the room's reference, the date it was due, a link.

The plan here is a plain §6 plan JSON dict: the reminder reads plans through a callable
(`plan_of(room_id)`), whatever stores them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, OMAR, PETE, SARAH, Tokens
from tests.mailbox import Mailbox
from tests.mailing import assert_no_case_content, deliver, room_of, text_of
from workspace.clock import clock
from workspace.models import Notice, Organisation, User
from workspace.serialize import user as user_json
from workspace.services import reminders
from workspace.services.plans import overdue
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

# Words of the plan that must never reach an email.
ACTION_TEXT = "Arrange a paediatric assessment of the bruising"


def owner(app: Caseroom, email: str) -> dict[str, Any]:
    with app.db.session() as session:
        u = session.exec(select(User).where(User.email == email)).one()
        org = session.get(Organisation, u.organisation_id)
        assert org is not None
        return user_json(u, org)


def an_action(id: str, due: str, who: dict[str, Any] | None, status: str = "in_progress") -> Any:
    return {"id": id, "text": f"{ACTION_TEXT} ({id})", "owner": who, "due": due,
            "status": status, "evidence": "Seen at home on Monday"}  # fmt: skip


def jamie_plan(app: Caseroom) -> dict[str, Any]:
    """Today is Wednesday 25 November 2026 (tests/conftest.py)."""
    return {
        "concerns": "Bruising seen at school",
        "key_dates": {"strategy_discussion": "2026-11-10", "reviews": []},
        "outcomes": [{"id": "o-1", "text": "Jamie is safe at home", "actions": [
            an_action("hana-late", "2026-11-20", owner(app, HANA)),
            an_action("dan-next-week", "2026-11-30", owner(app, DAN)),
            an_action("pete-done", "2026-11-01", owner(app, PETE), status="done"),
            an_action("nobody-late", "2026-11-24", None),
            an_action("sarah-late", "2026-11-23", owner(app, SARAH)),
            an_action("omar-late", "2026-11-23", owner(app, OMAR)),  # not in the room
        ]}],
    }  # fmt: skip


def remind(app: Caseroom, plans: Mapping[str, Mapping[str, Any]]) -> int:
    """One look by the worker."""
    with app.db.session() as session:
        found = overdue.remind(app, session, clock.now(), plan_of=plans.get)
        session.commit()
    return found


def subjects(mailbox: Mailbox, email: str) -> list[str]:
    return sorted(str(r.message["Subject"]) for r in mailbox.to(email))


def notices_of(app: Caseroom, email: str) -> list[str]:
    with app.db.session() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return list(
            session.exec(
                select(Notice.text)
                .where(col(Notice.user_id) == user.id, col(Notice.kind).startswith("action"))
                .order_by(col(Notice.created_at), col(Notice.id))
            ).all()
        )


def test_the_owner_and_the_lead_are_told_once_however_often_the_worker_looks(
    app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    ref = jamie.reference
    plan = jamie_plan(app)
    assert remind(app, {jamie.id: plan}) == 4  # hana, nobody, sarah, omar
    assert remind(app, {jamie.id: plan}) == 4  # the worker looks again a minute later
    deliver(app)

    owned = f"An action you own in case room {ref} is overdue"
    in_room = f"An action in case room {ref} is overdue"
    assert subjects(mailbox, HANA) == [owned]
    # The lead: her own action as its owner; Hana's, nobody's and Omar's as the lead.
    assert subjects(mailbox, SARAH) == [in_room] * 3 + [owned]
    assert mailbox.to(DAN) == [] and mailbox.to(PETE) == []
    assert mailbox.to(OMAR) == []  # not in the room: never told about it

    (to_hana,) = mailbox.to(HANA)
    assert "was due on Friday 20 November 2026 and is overdue" in text_of(to_hana)
    for received in mailbox.received:
        assert ACTION_TEXT not in text_of(received) and "Bruising" not in text_of(received)
        assert "Seen at home" not in text_of(received) and "Jamie is safe" not in text_of(received)
        assert_no_case_content(app, received)

    assert notices_of(app, HANA) == [
        f"An action you own in case room {ref} is overdue (due Friday 20 November 2026)."
    ]
    assert sorted(notices_of(app, SARAH)) == sorted([
        f"An action Hana Kowalski owns in case room {ref} is overdue (due Friday 20 November "
        "2026).",
        f"An action nobody owns in case room {ref} is overdue (due Tuesday 24 November 2026).",
        f"An action Omar Reid owns in case room {ref} is overdue (due Monday 23 November 2026).",
        f"An action you own in case room {ref} is overdue (due Monday 23 November 2026).",
    ])  # fmt: skip
    assert notices_of(app, OMAR) == []


def test_an_action_is_told_again_only_when_a_new_due_date_passes(
    app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    plan = jamie_plan(app)
    remind(app, {jamie.id: plan})
    deliver(app)
    mailbox.received.clear()

    # Dan's action is due Monday 30 November: not overdue that day, overdue the next.
    clock.advance(timedelta(days=5))
    remind(app, {jamie.id: plan})
    deliver(app)
    assert mailbox.received == []
    clock.advance(timedelta(days=1))
    remind(app, {jamie.id: plan})
    deliver(app)
    assert len(mailbox.to(DAN)) == 1 and len(mailbox.to(SARAH)) == 1
    assert mailbox.to(HANA) == []  # already told about hers
    mailbox.received.clear()

    # Hana's action is given a new date, which passes too: told again, once.
    hana_action = plan["outcomes"][0]["actions"][0]
    hana_action["due"] = "2026-11-27"
    remind(app, {jamie.id: plan})
    remind(app, {jamie.id: plan})
    deliver(app)
    (again,) = mailbox.to(HANA)
    assert "was due on Friday 27 November 2026" in text_of(again)
    assert len(mailbox.to(SARAH)) == 1
    mailbox.received.clear()

    # Done (or agreed not to be done): no longer overdue, nothing more to say.
    hana_action["status"] = "done"
    hana_action["due"] = "2026-11-26"
    remind(app, {jamie.id: plan})
    deliver(app)
    assert mailbox.received == []


def test_a_lead_who_wants_overdue_actions_in_the_digest_gets_the_notice_but_no_email(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    response = client.put(
        "/api/v1/me/preferences", headers=auth(SARAH), json={"immediate": ["mention"]}
    )
    assert response.status_code == 200, response.text
    jamie = room_of(app, "Jamie")
    remind(app, {jamie.id: jamie_plan(app)})
    deliver(app)
    assert mailbox.to(SARAH) == []
    assert len(notices_of(app, SARAH)) == 4
    assert len(mailbox.to(HANA)) == 1  # hers is her own choice


def test_a_closed_room_and_a_room_without_a_plan_tell_no_one(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie, lily = room_of(app, "Jamie"), room_of(app, "Lily")
    assert client.post(f"/api/v1/rooms/{jamie.id}/close", headers=auth(SARAH)).status_code == 204
    deliver(app)
    mailbox.received.clear()
    assert remind(app, {jamie.id: jamie_plan(app)}) == 0
    assert remind(app, {}) == 0  # Lily's room has no plan
    deliver(app)
    assert mailbox.received == []
    assert notices_of(app, HANA) == [] and lily.status == "open"


def test_the_worker_looks_through_the_plan_reader(
    app: Caseroom, mailbox: Mailbox, quiet: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    jamie = room_of(app, "Jamie")
    plan = jamie_plan(app)
    # Plans are read through plan storage's reader (a room whose plan names no overdue
    # action tells nobody); here a stand-in reader gives Jamie's plan.
    read: list[str] = []

    def draft_json(_app: Caseroom, session: Session, room_id: str) -> Mapping[str, Any] | None:
        read.append(room_id)
        return plan if room_id == jamie.id else None

    monkeypatch.setattr(reminders, "PLAN_READER", draft_json)
    reminders.run_reminders(app)
    reminders.run_reminders(app)
    deliver(app)
    assert len(mailbox.to(HANA)) == 1 and len(mailbox.to(SARAH)) == 4
    assert jamie.id in read


def test_an_action_set_through_the_plan_falls_overdue_and_its_owner_is_told_by_the_worker(
    app: Caseroom, client: TestClient, auth: Tokens, mailbox: Mailbox, quiet: None
) -> None:
    """End to end: the plan as stored (no stand-in reader), the worker's own loop."""
    jamie = room_of(app, "Jamie")
    plan = f"/api/v1/rooms/{jamie.id}/plan"
    hana = client.get("/api/v1/me", headers=auth(HANA)).json()["id"]
    outcome = client.post(f"{plan}/outcomes", headers=auth(SARAH), json={"text": "Safe at home"})
    action = client.post(
        f"{plan}/outcomes/{outcome.json()['id']}/actions", headers=auth(SARAH),
        json={"text": "Health visit", "owner_id": hana, "due": "2026-11-27"},
    )  # fmt: skip
    assert action.status_code == 201, action.text
    reminders.run_reminders(app)
    assert notices_of(app, HANA) == []  # due Friday: not yet
    clock.advance(timedelta(days=5))  # Monday 30 November
    reminders.run_reminders(app)
    reminders.run_reminders(app)
    deliver(app)
    assert len(notices_of(app, HANA)) == 1
    owned = f"An action you own in case room {jamie.reference} is overdue"
    assert subjects(mailbox, HANA) == [owned]
    read = client.get(plan, headers=auth(SARAH)).json()
    assert [a["id"] for a in read["overdue_actions"]] == [action.json()["id"]]
