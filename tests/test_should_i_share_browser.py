""""Should I share?" in the browser (issue #15): Dan, the school's DSL, is unsure whether
to share; he opens the dialogue from Jamie's room, answers that seeking consent would put
Jamie at risk, is told to share without consent and why, and records it: the sharing
record shows the decision with the guidance's version, and it keeps every answer."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from tests.browsing import Open
from tests.conftest import DAN
from workspace.models import SharingDecision
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

ANSWERS = [
    "Yes",
    "Yes: asking would put the child at risk",
    "Yes",
    "Yes",
    "Safeguarding of children (UK GDPR Art 9(2)(g), DPA 2018 Sch 1 para 18)",
]


def test_dan_is_guided_to_share_without_consent_and_the_decision_keeps_every_answer(
    visit: Open, password: str, app: Caseroom
) -> None:
    dan = visit(DAN, password)
    page = dan.go("/")
    page.get_by_role("link", name="Jamie Carter").click()
    page.get_by_role("link", name="Should I share?").click()
    expect(page.get_by_role("heading", name="Should I share?", exact=True)).to_be_visible()
    for label in ANSWERS:
        question = page.get_by_test_id("dialogue-question")
        question.get_by_label(label, exact=True).check()
        question.get_by_role("button", name="Next").click()
    recommendation = page.get_by_test_id("recommendation")
    expect(recommendation.get_by_role("heading")).to_have_text(
        "Recommendation: Share without consent"
    )
    expect(page.get_by_test_id("recommendation-reason")).to_contain_text(
        "Seeking consent would place the child at risk of harm."
    )
    expect(page.get_by_test_id("dialogue-steps").locator("li")).to_have_count(5)
    page.get_by_label("What it is about").fill("attendance and welfare notes")
    page.get_by_label("Why (the purpose)").fill("For the strategy discussion")
    page.get_by_role("button", name="Record the decision").click()
    expect(page).to_have_url(re.compile(r"guided_by="))
    page.get_by_role("link", name="Sharing record").click()
    row = page.get_by_test_id("sharing-decisions").locator("tr", has_text="attendance and welfare")
    expect(row).to_contain_text("Should I share? version 2026-11-30.1")
    expect(row).to_contain_text("Seeking consent would place the child at risk of harm.")

    with app.db.session() as session:
        [decision] = session.exec(
            select(SharingDecision).where(col(SharingDecision.guidance_version).is_not(None))
        ).all()
    kept = json.loads(decision.dialogue or "{}")
    assert [s["label"] for s in kept["steps"]] == ANSWERS
    assert kept["guidance_version"] == "2026-11-30.1"
    assert (decision.consent, decision.lawful_basis) == ("not_sought", "safeguarding")
