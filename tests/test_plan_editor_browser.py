"""The co-edited plan in the browser (issue #11): Sarah (the lead) and Hana (health) edit
Jamie's child protection plan at the same time, in different fields and in the same one;
each sees the other's words within a second, sees who is editing where, and both end with
the same plan as the server. An editor removes an outcome or an action added by mistake,
after a question in the page, and the other sees it go. An editor who was offline merges
on reconnecting; once the room closes the editor says so and turns read only. A guest
reads the plan live but cannot change it (nor remove anything): the page never offers to,
and an update forged on the guest's own connection is refused, not applied, and recorded
as denied.

The page keeps its server-rendered, read-only view of the draft (hidden once the editor has
synced), so everything here looks inside the editor's form, #plan-form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, expect
from pycrdt import Doc, Map, Text, create_update_message
from sqlmodel import select
from starlette.testclient import TestClient

from tests.browsing import Open, Visitor
from tests.conftest import DAN, HANA, HOLLY, SARAH, Tokens, give_second_factor, user_by_email
from tests.mailing import add_member
from tests.test_sign_in import totp_code
from workspace.models.audit import AuditEvent
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

ONE_SECOND = 1_000
READ_ONLY = "You can read this plan; only the lead professional and core group members edit it."
OUTCOME = "What should be different for the child"


def jamie(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


def open_plan(visitor: Visitor, room_id: str) -> Locator:
    """The plan page, once the live editor has synced and taken the read-only view's
    place: its form."""
    page = visitor.go(f"/rooms/{room_id}/plan")
    expect(page.locator("#plan-status")).to_have_text(re.compile(r"^(Live|Saved)$"))
    expect(page.locator("#plan-form")).to_be_visible()
    expect(page.locator("#plan-readonly")).to_be_hidden()
    return page.locator("#plan-form")


def status(form: Locator) -> Locator:
    return form.page.locator("#plan-status")


def box(form: Locator, label: str) -> Locator:
    return form.get_by_label(label, exact=True)


def values(form: Locator) -> list[str]:
    """Every field of the plan as the page shows it, in order."""
    shown: list[str] = form.locator("textarea, select, input").evaluate_all(
        "els => els.map(e => e.value)"
    )
    return shown


def draft(client: TestClient, auth: Tokens, room_id: str) -> dict[str, object]:
    response = client.get(f"/api/v1/rooms/{room_id}/plan", headers=auth(SARAH))
    assert response.status_code == 200, response.text
    plan: dict[str, object] = response.json()["draft"]
    return plan


def type_in_turns(first: tuple[Locator, str], second: tuple[Locator, str]) -> None:
    """Two people typing into boxes at the same time, a key each in turn."""
    (box_a, text_a), (box_b, text_b) = first, second
    for i in range(max(len(text_a), len(text_b))):
        if i < len(text_a):
            box_a.press(text_a[i] if text_a[i] != " " else "Space")
        if i < len(text_b):
            box_b.press(text_b[i] if text_b[i] != " " else "Space")


def test_two_editors_see_each_others_changes_within_a_second_and_end_identical(
    visit: Open, password: str, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_plan(sarah, room_id), open_plan(hana, room_id)

    # Different fields, at the same time: Sarah in the concerns, Hana in the services.
    box(s, "Concerns").press("Control+End")
    box(h, "Services").press("Control+End")
    expect(s.locator('.plan-form__editing[data-field="services"]')).to_have_text(
        "Hana Kowalski is editing"
    )
    expect(h.locator('.plan-form__editing[data-field="concerns"]')).to_have_text(
        "Sarah Okafor is editing"
    )
    type_in_turns(
        (box(s, "Concerns"), "Jamie arrives at school hungry."),
        (box(h, "Services"), "Health visiting every week."),
    )
    expect(box(h, "Concerns")).to_have_value(
        re.compile(r"Jamie arrives at school hungry\.$"), timeout=ONE_SECOND
    )
    expect(box(s, "Services")).to_have_value(
        re.compile(r"Health visiting every week\.$"), timeout=ONE_SECOND
    )

    # The same field: Sarah writes at the end of the contingency plan while Hana writes at
    # its start. Both keep their words, each in one piece.
    box(s, "Contingency plan").fill("Review at core group.")
    expect(box(h, "Contingency plan")).to_have_value("Review at core group.", timeout=ONE_SECOND)
    box(s, "Contingency plan").press("Control+End")
    box(h, "Contingency plan").press("Control+Home")
    type_in_turns(
        (box(s, "Contingency plan"), " If mum is admitted, Jamie stays with his aunt."),
        (box(h, "Contingency plan"), "Police to be called if the partner returns. "),
    )
    both = (
        "Police to be called if the partner returns. Review at core group."
        " If mum is admitted, Jamie stays with his aunt."
    )
    expect(box(s, "Contingency plan")).to_have_value(both, timeout=ONE_SECOND)
    expect(box(h, "Contingency plan")).to_have_value(both, timeout=ONE_SECOND)

    # An outcome Sarah adds reaches Hana, who adds an action under it for the school.
    s.get_by_role("button", name="Add an outcome").click()
    mine = s.locator(".plan-form__outcome").last
    box(mine, OUTCOME).fill("Jamie arrives at school fed and in clean clothes.")
    theirs = h.locator(".plan-form__outcome").last
    expect(box(theirs, OUTCOME)).to_have_value(
        "Jamie arrives at school fed and in clean clothes.", timeout=ONE_SECOND
    )
    number = h.locator(".plan-form__outcome").count()
    theirs.get_by_role("button", name=f"Add an action to outcome {number}").click()
    action = theirs.locator(".plan-form__action").last
    box(action, "What will be done").fill("Offer a breakfast club place")
    box(action, "Who will do it").select_option(label="Dan Hughes (Oakfield Primary School)")
    box(action, "By when").fill("2027-01-15")
    box(action, "Status").select_option(label="In progress")
    seen = mine.locator(".plan-form__action").last
    expect(box(seen, "What will be done")).to_have_value(
        "Offer a breakfast club place", timeout=ONE_SECOND
    )
    expect(box(seen, "Who will do it")).to_have_value(user_by_email(auth.app, DAN).id)
    expect(box(seen, "By when")).to_have_value("2027-01-15")
    expect(box(seen, "Status")).to_have_value("in_progress")

    # Key dates, a review and the category, chosen by Sarah, reach Hana.
    box(s, "Strategy discussion").fill("2026-11-23")
    box(s, "Initial category").select_option("neglect")
    box(s, "Date of a new review").fill("2027-02-22")
    s.get_by_role("button", name="Add review date").click()
    expect(box(h, "Strategy discussion")).to_have_value("2026-11-23", timeout=ONE_SECOND)
    expect(box(h, "Initial category")).to_have_value("neglect", timeout=ONE_SECOND)
    expect(box(h, "Review 1")).to_have_value("2027-02-22", timeout=ONE_SECOND)

    # Both end with the same plan, which is the one the server stored.
    expect(status(s)).to_have_text("Saved")
    expect(status(h)).to_have_text("Saved")
    assert values(s) == values(h)
    stored = draft(client, auth, room_id)
    assert stored["contingency"] == both
    assert stored["concerns"] == box(s, "Concerns").input_value()
    assert stored["services"] == box(h, "Services").input_value()
    assert sarah.check_accessibility() == []
    assert hana.check_accessibility() == []


def actions(form: Locator) -> list[str]:
    """What each action says will be done, in order."""
    shown: list[str] = form.get_by_label("What will be done", exact=True).evaluate_all(
        "els => els.map(e => e.value)"
    )
    return shown


def add_outcome(form: Locator, words: str, actions: list[str]) -> Locator:
    """An outcome added at the end, with its actions: the new outcome."""
    form.get_by_role("button", name="Add an outcome").click()
    outcome = form.locator(".plan-form__outcome").last
    box(outcome, OUTCOME).fill(words)
    for action in actions:
        outcome.get_by_role("button", name=re.compile(r"^Add an action")).click()
        box(outcome.locator(".plan-form__action").last, "What will be done").fill(action)
    return outcome


def test_an_editor_removes_an_action_and_an_outcome_and_the_other_sees_them_go(
    visit: Open, password: str, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_plan(sarah, room_id), open_plan(hana, room_id)
    add_outcome(s, "Jamie arrives at school fed.", ["Offer a breakfast club place", "Wrong room"])
    add_outcome(s, "Added here by mistake", ["Nothing"])
    expect(h.get_by_label("What will be done", exact=True).last).to_have_value(
        "Nothing", timeout=ONE_SECOND
    )
    before = h.locator(".plan-form__outcome").count()

    # Removing asks first, in the page; "Keep" changes nothing and puts focus back.
    remove = s.get_by_role("button", name="Remove action: Wrong room")
    remove.click()
    question = s.get_by_role(
        "group", name="Remove this action? It stays in earlier published versions."
    )
    keep = question.get_by_role("button", name="Keep")
    expect(keep).to_be_focused()
    assert sarah.check_accessibility() == []
    keep.click()
    expect(question).to_be_hidden()
    expect(remove).to_be_focused()
    expect(box(h.locator(".plan-form__action").nth(-2), "What will be done")).to_have_value(
        "Wrong room"
    )

    remove.click()
    question.get_by_role("button", name="Remove", exact=True).click()
    expect(s.get_by_role("button", name="Remove action: Wrong room")).to_have_count(0)
    expect(s.get_by_role("button", name=re.compile(r"^Add an action to outcome"))).to_have_count(
        before
    )
    expect(h.locator(".plan-form__action")).to_have_count(
        s.locator(".plan-form__action").count(), timeout=ONE_SECOND
    )
    assert "Wrong room" not in actions(h)

    # The outcome, with its action: Hana sees it go within a second.
    s.get_by_role("button", name="Remove outcome: Added here by mistake").click()
    s.get_by_role("group", name=re.compile(r"^Remove this outcome\?")).get_by_role(
        "button", name="Remove", exact=True
    ).click()
    expect(h.locator(".plan-form__outcome")).to_have_count(before - 1, timeout=ONE_SECOND)
    expect(s.get_by_role("button", name="Add an outcome")).to_be_focused()
    assert "Nothing" not in actions(h)
    expect(box(h.locator(".plan-form__outcome").last, OUTCOME)).to_have_value(
        "Jamie arrives at school fed."
    )

    # Review dates: Hana removes the first (emptied) as Sarah's list follows; Sarah's change
    # to the one left reaches that one.
    for date in ("2027-02-22", "2027-05-24"):
        box(s, "Date of a new review").fill(date)
        s.get_by_role("button", name="Add review date").click()
    expect(box(h, "Review 2")).to_have_value("2027-05-24", timeout=ONE_SECOND)
    box(h, "Review 1").fill("")
    expect(box(s, "Review 1")).to_have_value("2027-05-24", timeout=ONE_SECOND)
    box(s, "Review 1").fill("2027-05-25")
    expect(box(h, "Review 1")).to_have_value("2027-05-25", timeout=ONE_SECOND)
    expect(box(h, "Review 2")).to_have_count(0)

    expect(status(s)).to_have_text("Saved")
    assert values(s) == values(h)
    stored = draft(client, auth, room_id)
    assert stored["key_dates"] == {"reviews": ["2027-05-25"]}
    outcomes = stored["outcomes"]
    assert isinstance(outcomes, list)
    assert [o["text"] for o in outcomes][-1] == "Jamie arrives at school fed."
    assert [a["text"] for a in outcomes[-1]["actions"]] == ["Offer a breakfast club place"]
    assert hana.check_accessibility() == []


def test_an_editor_who_was_offline_merges_on_reconnecting(
    visit: Open, password: str, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_plan(sarah, room_id), open_plan(hana, room_id)

    hana.context.set_offline(True)
    expect(status(h)).to_have_text(
        "Offline: your changes will be sent when you reconnect", timeout=15_000
    )
    box(h, "Summary for the family").fill("We will help mum get Jamie to school.")
    box(s, "Summary for the family").fill("Sarah visits every week. ")
    expect(status(s)).to_have_text("Saved")
    hana.context.set_offline(False)

    expect(status(h)).to_have_text("Saved", timeout=15_000)
    for form in (s, h):
        summary = box(form, "Summary for the family")
        expect(summary).to_have_value(re.compile(r"Sarah visits every week\. "))
        expect(summary).to_have_value(re.compile(r"We will help mum get Jamie to school\."))
    assert values(s) == values(h)
    stored = draft(client, auth, room_id)["family_summary"]
    assert stored == box(s, "Summary for the family").input_value()


def test_when_the_room_closes_the_editor_says_so_and_turns_read_only(
    visit: Open, password: str, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    h = open_plan(visit(HANA, password), room_id)
    box(h, "Services").fill("Health visiting every week.")
    expect(status(h)).to_have_text("Saved")

    closed = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert closed.status_code < 300, closed.text
    # Whether the server's news that she may no longer edit or the refusal of her next key
    # arrives first, she is told, and the box shows what is saved, read only.
    box(h, "Services").press("Control+End")
    box(h, "Services").press("!")

    problem = h.page.locator("#plan-error")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("read only")
    expect(box(h, "Services")).to_have_value("Health visiting every week.")
    expect(box(h, "Services")).to_have_attribute("readonly", "")
    expect(h.get_by_role("button", name="Add an outcome")).to_have_count(0)
    assert draft(client, auth, room_id)["services"] == "Health visiting every week."


def test_a_guest_reads_the_plan_live_and_a_forged_update_is_refused_and_recorded(
    visit: Open, password: str, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    secret = give_second_factor(app, HOLLY)
    add_member(client, auth, room_id, HOLLY, role="guest")
    s = open_plan(visit(SARAH, password), room_id)
    box(s, "Concerns").fill("Jamie arrives at school hungry.")
    add_outcome(s, "Jamie arrives at school fed.", ["Offer a breakfast club place"])
    expect(status(s)).to_have_text("Saved")

    holly = visit(HOLLY, password)
    holly.page.get_by_label("Security code").fill(totp_code(secret))
    holly.page.get_by_role("button", name="Continue").click()
    g = open_plan(holly, room_id)
    page = holly.page

    # Read only, and the page says why.
    expect(page.locator("#plan-readonly-note")).to_have_text(READ_ONLY)
    expect(box(g, "Concerns")).to_have_value("Jamie arrives at school hungry.")
    expect(g.locator("textarea")).not_to_have_count(0)
    expect(g.locator("textarea:not([readonly])")).to_have_count(0)
    expect(g.locator("select:enabled, input:enabled")).to_have_count(0)
    expect(g.get_by_role("button", name=re.compile(r"^Add"))).to_have_count(0)
    expect(box(g.locator(".plan-form__action").last, "What will be done")).to_have_value(
        "Offer a breakfast club place"
    )
    expect(g.get_by_role("button", name=re.compile(r"^Remove"))).to_have_count(0)
    assert holly.check_accessibility() == []

    # Sarah's words reach the guest live.
    box(s, "Concerns").press("Control+End")
    box(s, "Concerns").press_sequentially(" Mum is struggling.")
    both = "Jamie arrives at school hungry. Mum is struggling."
    expect(box(g, "Concerns")).to_have_value(both, timeout=ONE_SECOND)
    holly_id = user_by_email(app, HOLLY).id

    def denied() -> list[AuditEvent]:
        with app.db.session() as session:
            rows = session.exec(
                select(AuditEvent).where(
                    AuditEvent.actor_id == holly_id,
                    AuditEvent.outcome == "denied",
                    AuditEvent.room_id == room_id,
                )
            ).all()
        return [e for e in rows if "plan" in e.action]

    assert denied() == []  # the guest's own editor never tried to write

    # An update forged on the guest's own connection: a new "concerns" text from a client
    # id above every real one, so that if it were applied it would win the key.
    forger = Doc(client_id=2**32 - 1)
    forger.get("plan", type=Map)["concerns"] = Text("Forged by a guest")
    forged = create_update_message(forger.get_update())
    answers = page.evaluate(
        """async ({ roomId, bytes }) => {
            const socket = io({ path: "/socket.io", transports: ["websocket"] });
            await new Promise((resolve) => socket.on("connect", resolve));
            const joined = await socket.timeout(5000).emitWithAck("plan:join", { room_id: roomId });
            const answer = await socket.timeout(5000).emitWithAck(
                "plan:update", { room_id: roomId, message: new Uint8Array(bytes) });
            socket.disconnect();
            return { joined, answer };
        }""",
        {"roomId": room_id, "bytes": list(forged)},
    )
    assert answers["joined"]["ok"] is True and answers["joined"]["can_edit"] is False
    assert answers["answer"]["ok"] is False

    assert draft(client, auth, room_id)["concerns"] == both
    page.wait_for_timeout(300)  # what a relay would have needed to arrive
    for form in (s, g):
        expect(box(form, "Concerns")).to_have_value(both)
    assert len(denied()) >= 1
