""""Should I share?" (issue #15 item 2): the seven golden rules as questions, from a
guidance file an information-governance lead changes without code; every answer and the
guidance's version kept with the sharing decision it ends in (golden rule 7).

Dan, the school's DSL in Jamie's room (demo), is unsure whether to share: seeking consent
would put Jamie at risk, so the dialogue recommends sharing without consent and says why.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, FAY, HOLLY, OMAR, SARAH, Tokens, user_by_email
from tests.mailing import room_of
from tests.test_sign_in import form_value, sign_in
from workspace.app import create_app
from workspace.errors import Invalid
from workspace.models import AuditEvent, SharingDecision
from workspace.services import should_i_share
from workspace.settings import Settings
from workspace.state import Caseroom

GUIDANCE = Path(__file__).resolve().parents[1] / "policy" / "should_i_share.toml"
# Purpose, then "asking would put the child at risk", then the minimum, with whom, and the
# lawful basis: share without consent.
AT_RISK = [
    "purpose:yes", "seeking_consent:yes", "necessary:yes", "with_whom:yes",
    "lawful_basis:safeguarding",
]  # fmt: skip


def test_the_shipped_guidance_walks_to_share_without_consent_with_the_reason() -> None:
    guidance = should_i_share.load(GUIDANCE)
    done = should_i_share.walk(guidance, AT_RISK)
    assert done.outcome is not None and done.outcome.key == "share_without_consent"
    assert (done.consent, done.lawful_basis) == ("not_sought", "safeguarding")
    assert done.consent_reason == "Seeking consent would place the child at risk of harm."
    assert [s.question.id for s in done.steps] == [a.split(":")[0] for a in AT_RISK]


@pytest.mark.parametrize(
    ("answers", "outcome", "consent"),
    [
        (["purpose:no"], "do_not_share", "not_sought"),
        (["purpose:unsure"], "ask_ig_lead", "not_sought"),
        (["purpose:yes", "seeking_consent:no", "consent:given", "necessary:less",
          "with_whom:yes", "lawful_basis:public_task"], "share", "given"),
        (["purpose:yes", "seeking_consent:no", "consent:refused", "override:no"],
         "do_not_share", "refused"),
        (["purpose:yes", "seeking_consent:no", "consent:refused", "override:yes",
          "necessary:yes", "with_whom:yes", "lawful_basis:legal_obligation"],
         "share_without_consent", "refused"),
    ],
)  # fmt: skip
def test_each_route_ends_in_its_recommendation(
    answers: list[str], outcome: str, consent: str
) -> None:
    done = should_i_share.walk(should_i_share.load(GUIDANCE), answers)
    assert done.outcome is not None
    assert (done.outcome.key, done.consent) == (outcome, consent)


@pytest.mark.parametrize(
    "answers",
    [["necessary:yes"], ["purpose:maybe"], ["purpose:no", "seeking_consent:yes"]],
    ids=["skips a question", "an answer it does not offer", "goes on after the end"],
)
def test_answers_that_do_not_follow_the_questions_are_refused(answers: list[str]) -> None:
    with pytest.raises(Invalid):
        should_i_share.walk(should_i_share.load(GUIDANCE), answers)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (('next = "seeking_consent"', 'next = "nowhere"'), "no question nowhere"),
        (("with_whom", "purpose"), "circle"),
        (('consent = "given"', 'consent = "maybe"'), "consent maybe"),
        (('start = "purpose"', 'start = "intro"'), "start names no question"),
    ],
    ids=["a next to nowhere", "a loop", "an unknown consent", "no start"],
)  # fmt: skip
def test_a_broken_guidance_file_is_refused_with_what_is_wrong(
    change: tuple[str, str], says: str
) -> None:
    text = GUIDANCE.read_text()
    assert change[0] in text
    with pytest.raises(should_i_share.GuidanceError, match=says):
        should_i_share.parse(text.replace(change[0], change[1], 1))


def walk_in_browser(client: TestClient, room_id: str, answers: list[str]) -> str:
    """Answer one question per page, as the form does (GET, the answers so far with it)."""
    page = client.get(f"/rooms/{room_id}/should-i-share")
    for i in range(len(answers)):
        assert page.status_code == 200, page.text
        assert f'value="{answers[i]}"' in page.text  # offered on this page
        page = client.get(f"/rooms/{room_id}/should-i-share",
                          params=[("a", a) for a in answers[: i + 1]])  # fmt: skip
    assert page.status_code == 200, page.text
    return page.text


def test_dan_records_the_recommendation_with_every_answer_and_the_version(
    app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie").id
    with TestClient(create_app(caseroom=app)) as dan:
        sign_in(dan, DAN, password)
        done = walk_in_browser(dan, jamie, AT_RISK)
        assert "Recommendation: Share without consent" in done
        assert "Seeking consent would place the child at risk of harm." in done
        sent = dan.post(
            f"/rooms/{jamie}/should-i-share",
            data={"csrf_token": form_value(done, "csrf_token"), "a": AT_RISK,
                  "what": "attendance and the DSL's notes",
                  "purpose": "The social worker needs them for the strategy discussion"},
            follow_redirects=False,
        )  # fmt: skip
        assert sent.status_code == 303, sent.text
        # On to the room (the share it leads to); the decision is in the sharing record.
        assert sent.headers["location"].startswith(f"/rooms/{jamie}?guided_by=")
        record = dan.get(f"/rooms/{jamie}/sharing").text
        assert "attendance and the DSL&#39;s notes" in record
        assert "Should I share? version 2026-11-30.1" in record
    with app.db.session() as session:
        [decision] = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
        audited = session.exec(
            select(AuditEvent).where(AuditEvent.action == "sharing_decision_recorded")
        ).all()
    assert (decision.decision, decision.consent, decision.lawful_basis) == (
        "share", "not_sought", "safeguarding")  # fmt: skip
    assert decision.consent_reason == "Seeking consent would place the child at risk of harm."
    kept = json.loads(decision.dialogue or "{}")
    assert kept["guidance_version"] == decision.guidance_version == "2026-11-30.1"
    assert [f"{s['question']}:{s['answer']}" for s in kept["steps"]] == AT_RISK
    assert all(s["text"] and s["guidance"] for s in kept["steps"])
    assert kept["recommendation"] == "Share without consent"
    assert [e.room_id for e in audited] == [jamie]


def test_only_those_who_record_decisions_in_the_room_may_walk_it_there(
    app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie").id
    for who, status in ((OMAR, 404), (HOLLY, 404), (SARAH, 200)):
        with TestClient(create_app(caseroom=app)) as client:
            sign_in(client, who, password)
            assert client.get(f"/rooms/{jamie}/should-i-share").status_code == status, who


def test_an_unfinished_dialogue_or_a_forged_answer_records_nothing(
    app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie").id
    with TestClient(create_app(caseroom=app)) as dan:
        sign_in(dan, DAN, password)
        page = walk_in_browser(dan, jamie, AT_RISK)
        token = form_value(page, "csrf_token")
        for answers in (AT_RISK[:3], [*AT_RISK[:-1], "lawful_basis:because"]):
            sent = dan.post(
                f"/rooms/{jamie}/should-i-share",
                data={"csrf_token": token, "a": answers, "what": "notes", "purpose": "the plan"},
            )  # fmt: skip
            assert sent.status_code == 422, sent.text
    with app.db.session() as session:
        kept = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
    assert kept == []


def test_a_changed_guidance_file_changes_the_dialogue_without_code(
    app: Caseroom, settings: Settings, password: str, tmp_path: Path
) -> None:
    """The IG lead rewords the first question and adds a route: the next page shows it,
    and the decision names the new version."""
    second = tmp_path / "should_i_share.toml"
    second.write_text(
        GUIDANCE.read_text()
        .replace('version = "2026-11-30.1"', 'version = "2027-01-15.2"')
        .replace("Is there a safeguarding purpose?", "Is this about keeping a child safe?")
        .replace(
            '  value = "unsure"\n  label = "I am not sure"\n  outcome = "ask_ig_lead"',
            '  value = "unsure"\n  label = "I am not sure"\n  outcome = "do_not_share"',
            1,
        )
    )
    changed = Caseroom.build(dataclasses.replace(settings, sharing_guidance=second))
    jamie = room_of(app, "Jamie").id
    try:
        with TestClient(create_app(caseroom=changed)) as dan:
            sign_in(dan, DAN, password)
            first = dan.get(f"/rooms/{jamie}/should-i-share").text
            assert "Is this about keeping a child safe?" in first
            done = dan.get(f"/rooms/{jamie}/should-i-share", params={"a": "purpose:unsure"})
            assert "Recommendation: Do not share" in done.text
            assert "Guidance version 2027-01-15.2" in done.text
            sent = dan.post(
                f"/rooms/{jamie}/should-i-share",
                data={"csrf_token": form_value(done.text, "csrf_token"), "a": "purpose:unsure",
                      "what": "a rumour", "purpose": "Not a safeguarding matter"},
                follow_redirects=False,
            )  # fmt: skip
            assert sent.status_code == 303, sent.text
    finally:
        changed.db.dispose()
    with app.db.session() as session:
        [decision] = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
    assert (decision.guidance_version, decision.decision) == ("2027-01-15.2", "not_share")


# --- before raising a concern -----------------------------------------------------------


def test_dans_answers_go_with_his_concern_into_the_room_as_his_sharing_decision(
    app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie").id
    with TestClient(create_app(caseroom=app)) as dan:
        sign_in(dan, DAN, password)
        start = dan.get("/concerns/new").text
        assert 'href="/should-i-share"' in start
        page = dan.get("/should-i-share")
        for i in range(len(AT_RISK)):
            page = dan.get("/should-i-share", params=[("a", a) for a in AT_RISK[: i + 1]])
        assert "Recommendation: Share without consent" in page.text
        assert 'data-testid="continue-to-concern"' in page.text
        form = dan.get("/concerns/new", params=[("a", a) for a in AT_RISK])
        assert "Recommendation: Share without consent" in form.text
        sent = dan.post(
            "/concerns",
            data={"csrf_token": form_value(form.text, "csrf_token"), "should_i_share": AT_RISK,
                  "child_name": "Jamie Carter", "child_upn": "A950000178301",
                  "what_happened": "Bruise on his arm; he said not to tell anyone."},
        )  # fmt: skip
        assert sent.status_code == 200 and "Concern sent" in sent.text, sent.text
    with app.db.session() as session:
        [decision] = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
    assert decision.room_id == jamie and decision.item_id is not None
    assert (decision.decision, decision.consent) == ("share", "not_sought")
    assert decision.what.startswith("concern C-")
    kept = json.loads(decision.dialogue or "{}")
    assert [f"{s['question']}:{s['answer']}" for s in kept["steps"]] == AT_RISK


def test_a_concern_through_the_front_door_brings_its_decision_when_attached(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    sent = client.post("/api/v1/concerns", headers=auth(HOLLY), json={
        "child": {"name": "Jamie", "nhs_number": "9434765919"},
        "what_happened": "Front door left open at night.", "should_i_share": AT_RISK,
    })  # fmt: skip
    assert sent.status_code == 201, sent.text
    with app.db.session() as session:
        assert session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all() == []  # not in a room yet: it waits with the contact
    attached = client.post(f"/api/v1/front-door/{sent.json()['contact_id']}/decision",
                           json={"decision": "attach"}, headers=auth(FAY))  # fmt: skip
    assert attached.status_code == 200, attached.text
    with app.db.session() as session:
        [decision] = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
    assert decision.decided_by_id == user_by_email(app, HOLLY).id
    assert decision.room_id == room_of(app, "Jamie").id


def test_unfinished_answers_with_a_concern_are_refused_with_the_field_named(
    client: TestClient, auth: Tokens
) -> None:
    sent = client.post("/api/v1/concerns", headers=auth(DAN), json={
        "child": {"name": "Riley Stone"}, "what_happened": "Hungry again.",
        "should_i_share": AT_RISK[:2],
    })  # fmt: skip
    assert sent.status_code == 422, sent.text
    assert "should_i_share" in sent.json()["error"]["fields"]


def test_the_invitation_the_lead_sends_after_the_dialogue_carries_its_answers(
    app: Caseroom, password: str
) -> None:
    """Sarah is told to share (consent given), records it, and is taken to the room's
    "Add a member" form, which carries her decision: the invitation's own record keeps a
    link to it and its answers."""
    jamie = room_of(app, "Jamie").id
    with_consent = ["purpose:yes", "seeking_consent:no", "consent:given", "necessary:yes",
                    "with_whom:yes", "lawful_basis:public_task"]  # fmt: skip
    with TestClient(create_app(caseroom=app)) as sarah:
        sign_in(sarah, SARAH, password)
        done = walk_in_browser(sarah, jamie, with_consent)
        sent = sarah.post(
            f"/rooms/{jamie}/should-i-share",
            data={"csrf_token": form_value(done, "csrf_token"), "a": with_consent,
                  "what": "room access for the youth worker", "purpose": "Youth work support"},
            follow_redirects=False,
        )  # fmt: skip
        assert sent.status_code == 303
        room = sarah.get(sent.headers["location"]).text
        assert 'data-testid="guided-by"' in room
        guided = form_value(room, "guided_by")
        invited = sarah.post(
            f"/rooms/{jamie}/invitations",
            data={"csrf_token": form_value(room, "csrf_token"), "guided_by": guided,
                  "email": "youth.worker@oakfieldyouth.example", "role": "member",
                  "purpose": "Youth work support", "lawful_basis": "public_task",
                  "consent": "given", "organisation_name": "Oakfield Youth Club",
                  "organisation_kind": "voluntary"},
            follow_redirects=False,
        )  # fmt: skip
        assert invited.status_code in (302, 303), invited.text
        forged = sarah.post(
            f"/rooms/{jamie}/invitations",
            data={"csrf_token": form_value(room, "csrf_token"), "guided_by": "0" * 32,
                  "email": "someone.else@oakfieldyouth.example", "role": "member",
                  "purpose": "Youth work", "lawful_basis": "public_task", "consent": "given",
                  "organisation_name": "Oakfield Youth Club", "organisation_kind": "voluntary"},
        )  # fmt: skip
        assert forged.status_code == 422
    with app.db.session() as session:
        followed = session.exec(
            select(SharingDecision).where(col(SharingDecision.guided_by_id) == guided)
        ).all()
    assert len(followed) == 1 and "invitation to youth.worker" in followed[0].what
    assert followed[0].guidance_version == "2026-11-30.1"
    assert json.loads(followed[0].dialogue or "{}")["outcome"] == "share"
