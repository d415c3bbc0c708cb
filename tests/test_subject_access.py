"""Subject access (issue #15 item 3; DOMAIN.md "Subject access"): Iris, the council's IG
lead, answers a request for Jamie's record (his room is led by the council). She gets the
chronology and every item — Pete's restricted police intelligence too — in time order, as
a PDF for redaction: third-party information and the names of other agencies' staff are
marked. Producing it is audited with the request's reference; nobody else may.
"""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import HANA, IRIS, MARK, OMAR, PETE, PRIYA, SARAH, Tokens, user_by_email
from tests.mailing import room_of
from tests.test_plan_pdf import text_of
from tests.test_sign_in import form_value, sign_in_fully
from workspace.access import Access, Origin
from workspace.app import create_app
from workspace.models import AuditEvent, User
from workspace.services import subject_access
from workspace.state import Caseroom

REFERENCE = "SAR-2026-0142"


def test_the_ig_lead_produces_the_whole_record_marked_for_redaction(
    app: Caseroom, client: TestClient, auth: Tokens, password: str
) -> None:
    jamie = room_of(app, "Jamie").id
    told = client.post(f"/api/v1/rooms/{jamie}/messages", headers=auth(HANA),
                       json={"body": "Neighbour says shouting most nights.",
                             "kind": "third_party"})  # fmt: skip
    assert told.status_code == 201, told.text
    edited = client.patch(f"/api/v1/messages/{told.json()['id']}", headers=auth(HANA),
                          json={"body": "Neighbour reports shouting most nights."})  # fmt: skip
    assert edited.status_code == 200, edited.text
    plan = f"/api/v1/rooms/{jamie}/plan"
    assert client.post(f"{plan}/outcomes", headers=auth(SARAH),
                       json={"text": "Jamie sleeps safely at home"}).status_code == 201
    assert client.post(f"{plan}/versions", headers=auth(SARAH)).status_code == 201
    police = next(
        m for m in client.get(f"/api/v1/rooms/{jamie}/messages", headers=auth(PETE)).json()["items"]
        if m["sensitivity"] == "restricted"
    )  # fmt: skip
    with TestClient(create_app(caseroom=app)) as iris:
        sign_in_fully(iris, app, IRIS, password)
        home = iris.get("/").text
        assert f'href="/rooms/{jamie}/subject-access"' in home
        form = iris.get(f"/rooms/{jamie}/subject-access")
        assert form.status_code == 200, form.text
        produced = iris.post(f"/rooms/{jamie}/subject-access",
                             data={"csrf_token": form_value(form.text, "csrf_token"),
                                   "reference": REFERENCE})  # fmt: skip
        assert produced.status_code == 200, produced.text
        assert produced.content.startswith(b"%PDF")
        assert "subject-access-" in produced.headers["content-disposition"]
    with app.db.session() as session:
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "subject_access")
        ).all()
        assert (event.outcome, event.room_id) == ("allowed", jamie)
        assert REFERENCE in (event.purpose or "")
    # What the document says, drawn in-process from the same production.
    with app.db.session() as session:
        who = session.get(User, user_by_email(app, IRIS).id)
        access = Access(app, session, who, Origin("web"))
        request = subject_access.RequestIn(reference=REFERENCE)
        bundle = subject_access.produce(access, jamie, request)
        session.commit()
    said = text_of(subject_access.document(bundle))
    assert police["body"][:30] in said  # restricted items too
    assert "Neighbour reports shouting most nights." in said
    assert "Earlier version, replaced" in said and "Neighbour says shouting most nights." in said
    assert "Jamie sleeps safely at home" in said  # the plan as signed off
    assert "[THIRD PARTY]" in said
    assert "[REDACT? DC Pete" in said and "[REDACT? Hana" in said
    assert "[REDACT? Sarah" not in said  # the council's own staff
    assert "Chronology" in said and REFERENCE in said


@pytest.mark.parametrize(("who", "status"), [(SARAH, 403), (PETE, 403), (OMAR, 404),
                                             (MARK, 404), (PRIYA, 404)])  # fmt: skip
def test_nobody_else_produces_it_and_each_refusal_is_recorded(
    app: Caseroom, password: str, who: str, status: int
) -> None:
    jamie = room_of(app, "Jamie").id
    with TestClient(create_app(caseroom=app)) as client:
        sign_in_fully(client, app, who, password)
        assert client.get(f"/rooms/{jamie}/subject-access").status_code == status
    with app.db.session() as session:
        denied = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "subject_access_form", AuditEvent.outcome == "denied"
            )
        ).all()
    assert len(denied) == 1


def test_a_request_needs_its_reference(app: Caseroom, password: str) -> None:
    jamie = room_of(app, "Jamie").id
    with TestClient(create_app(caseroom=app)) as iris:
        sign_in_fully(iris, app, IRIS, password)
        form = iris.get(f"/rooms/{jamie}/subject-access")
        refused = iris.post(f"/rooms/{jamie}/subject-access",
                            data={"csrf_token": form_value(form.text, "csrf_token"),
                                  "reference": ""})  # fmt: skip
        assert refused.status_code == 422
        assert "Enter the request&#39;s reference" in refused.text
    with app.db.session() as session:
        produced = session.exec(
            select(AuditEvent).where(AuditEvent.action == "subject_access")
        ).all()
    assert produced == []
