"""Live co-editing of a plan (issue #11) with real socket.io clients holding pycrdt
documents, speaking the plan protocol (realtime/plans.py): concurrent edits converge,
an update is acknowledged only once stored and survives the server being killed, an
offline editor's changes merge when it comes back, a guest's forged update is refused,
not applied and audited, the JSON API's changes reach open editors, an outcome or action
removed in the editor leaves the draft but stays in the versions published with it,
compaction changes nothing, and someone removed from the room stops receiving the plan at
once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pycrdt import Array, Doc, Map, Text, create_sync_message, create_update_message
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    DAN,
    HANA,
    HOLLY,
    OMAR,
    PETE,
    REMOVAL,
    SARAH,
    LiveServer,
    Tokens,
    _free_port,
    user_by_email,
)
from tests.plan_editors import plan_editor, text
from tests.test_chat_scale_out import Process, two_processes  # noqa: F401 (a fixture)
from tests.test_chat_sockets import jamie, token_of
from tests.test_plan_export import an_outcome_with_an_action, plan_api, publish, words_of
from tests.test_sharing import with_holly_as_guest
from tests.test_sign_in import sign_in
from workspace.clock import clock
from workspace.models import AuditEvent, PlanSnapshot, PlanUpdate
from workspace.services.plans import document, store
from workspace.settings import Settings
from workspace.state import Caseroom

CASEROOM = Path(sys.executable).with_name("caseroom")


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    return jamie(client, auth)


def server_plan(client: TestClient, auth: Tokens, room_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/rooms/{room_id}/plan", headers=auth(SARAH))
    assert response.status_code == 200, response.text
    return dict(response.json()["draft"])


def without_owners(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan as a client without the room's people reads it (owners by id only)."""
    for outcome in plan["outcomes"]:
        for action in outcome["actions"]:
            action["owner"] = None
    return plan


def audited(app: Caseroom, user_email: str, action: str) -> list[AuditEvent]:
    user_id = user_by_email(app, user_email).id
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.actor_id) == user_id, col(AuditEvent.action) == action)
                .order_by(col(AuditEvent.seq))
            ).all()
        )


def test_two_editors_typing_at_once_end_with_the_same_plan(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with (
            plan_editor(live_server.url, token_of(auth(SARAH))) as sarah,
            plan_editor(live_server.url, token_of(auth(HANA))) as hana,
        ):
            assert (await sarah.join(room_id)) == {"ok": True, "can_edit": True}
            assert (await hana.join(room_id)) == {"ok": True, "can_edit": True}
            # Both type into the same field at the same place, and into different fields,
            # before either has seen the other's words.
            sent = await asyncio.gather(
                sarah.edit(text("concerns", "Neglect at home. ")),
                hana.edit(text("concerns", "Missed health visits. ")),
                sarah.edit(text("services", "Family support worker")),
                hana.edit(lambda plan: document.add_outcome(plan, "Jamie is seen weekly")),
            )
            assert all(answer == {"ok": True} for answer in sent), sent
            for editor in (sarah, hana):
                await editor.wait_until(
                    lambda e: "Neglect" in e.plan()["concerns"]
                    and "Missed" in e.plan()["concerns"] and e.plan()["outcomes"]
                )
            return sarah.plan(), hana.plan()

    sarahs, hanas = run_async(scenario())
    assert sarahs == hanas
    assert "Neglect at home. " in sarahs["concerns"]
    assert "Missed health visits. " in sarahs["concerns"]
    assert sarahs["services"] == "Family support worker"
    assert [o["text"] for o in sarahs["outcomes"]] == ["Jamie is seen weekly"]
    assert without_owners(server_plan(client, auth, room_id)) == sarahs


def test_an_edit_is_acknowledged_after_it_is_stored_and_audited_once_per_session(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    async def scenario() -> None:
        async with plan_editor(live_server.url, token_of(auth(PETE))) as pete:
            await pete.join(room_id)
            for word in ("Police ", "checks ", "done."):
                assert await pete.edit(text("services", word, len(pete.plan()["services"])))
                # Acknowledged: it is in the database already.
                assert server_plan(client, auth, room_id)["services"] == pete.plan()["services"]

    run_async(scenario())
    assert server_plan(client, auth, room_id)["services"] == "Police checks done."
    edits = audited(app, PETE, "edit_plan")
    assert [(e.outcome, e.channel, e.resource_type) for e in edits] == [
        ("allowed", "socket", "plan")
    ]
    assert [e.outcome for e in audited(app, PETE, "view_plan")] == ["allowed"]  # the join


def test_a_guests_forged_update_is_refused_not_applied_and_audited(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    with_holly_as_guest(client, auth, room_id)

    async def scenario() -> tuple[dict[str, Any], list[Any]]:
        async with (
            plan_editor(live_server.url, token_of(auth(HOLLY))) as holly,
            plan_editor(live_server.url, token_of(auth(SARAH))) as sarah,
        ):
            # The guest reads the plan (and her client's sync is no edit).
            assert (await holly.join(room_id)) == {"ok": True, "can_edit": False}
            await sarah.join(room_id)
            forged = holly.change(text("concerns", "Nothing to worry about."))
            answer = await holly.send(forged)
            # The same bytes as a sync step 2 are refused too.
            as_step2 = await holly.client.call(
                "plan:sync",
                {"room_id": room_id, "message": bytes([0, 1]) + create_update_message(forged)[2:]},
            )
            await sarah.edit(text("services", "Housing assessment"))
            await holly.wait_until(lambda e: "Housing" in e.plan()["services"])
            return answer, [as_step2, sarah.of("plan:update")]

    answer, (as_step2, heard_by_sarah) = run_async(scenario())
    assert answer["ok"] is False and answer["error"]["code"] == "forbidden", answer
    assert as_step2["ok"] is False and as_step2["error"]["code"] == "forbidden", as_step2
    assert heard_by_sarah == []  # nothing of it was relayed
    assert server_plan(client, auth, room_id)["concerns"] == ""
    denied = [e for e in audited(app, HOLLY, "edit_plan") if e.outcome == "denied"]
    assert [(e.channel, e.resource_type, e.room_id) for e in denied] == [
        ("socket", "plan", room_id), ("socket", "plan", room_id)
    ]


def test_an_outsider_can_neither_join_nor_update_the_plan(
    live_server: LiveServer, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with plan_editor(live_server.url, token_of(auth(OMAR))) as omar:
            joined = await omar.join(room_id)
            omar.room_id = room_id
            updated = await omar.send(
                omar.change(lambda plan: plan.__setitem__("concerns", "x"))
            )
            synced = await omar.client.call(
                "plan:sync", {"room_id": room_id, "message": create_sync_message(Doc())}
            )
            aware = await omar.client.call(
                "plan:awareness", {"room_id": room_id, "message": b"\x01\x00"}
            )
            return [joined, updated, synced, aware]

    answers = run_async(scenario())
    assert [a["error"]["code"] for a in answers] == ["not_found"] * 4, answers
    assert all(a["ok"] is False for a in answers)
    denied = {e.action for e in audited(app, OMAR, "view_plan")} | {
        e.action for e in audited(app, OMAR, "edit_plan")
    } | {e.action for e in audited(app, OMAR, "plan_awareness")}
    assert denied == {"view_plan", "edit_plan", "plan_awareness"}


def test_an_offline_editors_changes_merge_when_it_comes_back(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        offline = Doc()
        async with plan_editor(live_server.url, token_of(auth(DAN)), offline) as dan:
            await dan.join(room_id)
        # Dan's connection is gone; he keeps typing into his copy.
        document.edit(offline, text("seen", "Seen alone at school on Monday. "))
        document.edit(offline, lambda plan: document.add_outcome(plan, "Jamie attends school"))
        async with plan_editor(live_server.url, token_of(auth(SARAH))) as sarah:
            await sarah.join(room_id)
            await sarah.edit(text("seen", "Seen at home on Tuesday."))
            # Dan comes back: the sync on joining sends his changes and brings Sarah's.
            async with plan_editor(live_server.url, token_of(auth(DAN)), offline) as back:
                await back.join(room_id)
                await sarah.wait_until(lambda e: "Monday" in e.plan()["seen"])
                return sarah.plan(), back.plan()

    sarahs, dans = run_async(scenario())
    assert sarahs == dans
    assert "Seen alone at school on Monday. " in dans["seen"]
    assert "Seen at home on Tuesday." in dans["seen"]
    assert [o["text"] for o in dans["outcomes"]] == ["Jamie attends school"]
    assert without_owners(server_plan(client, auth, room_id)) == dans


def test_the_json_apis_changes_reach_an_open_editor_live(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    dan_id = user_by_email(client.app.state.caseroom, DAN).id  # type: ignore[attr-defined]

    async def scenario() -> dict[str, Any]:
        async with plan_editor(live_server.url, token_of(auth(HANA))) as hana:
            await hana.join(room_id)
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                url = f"/api/v1/rooms/{room_id}/plan"
                patched = await http.patch(url, headers=auth(SARAH), json={
                    "concerns": "Neglect", "key_dates": {"strategy_discussion": "2026-11-20"},
                })  # fmt: skip
                assert patched.status_code == 200, patched.text
                outcome = await http.post(
                    f"{url}/outcomes", headers=auth(SARAH), json={"text": "Jamie is safe"}
                )
                action = await http.post(
                    f"{url}/outcomes/{outcome.json()['id']}/actions", headers=auth(SARAH),
                    json={"text": "Attendance checked daily", "owner_id": dan_id,
                          "due": "2026-12-04"},
                )  # fmt: skip
                done = await http.patch(
                    f"{url}/actions/{action.json()['id']}", headers=auth(DAN),
                    json={"status": "in_progress", "evidence": "4 of 5 days"},
                )
                assert done.status_code == 200, done.text
            await hana.wait_until(
                lambda e: bool(e.plan()["outcomes"])
                and e.plan()["outcomes"][0]["actions"][:1] != []
                and e.plan()["outcomes"][0]["actions"][0]["status"] == "in_progress"
            )
            return hana.plan()

    plan = run_async(scenario())
    assert plan["concerns"] == "Neglect"
    assert plan["key_dates"]["strategy_discussion"] == "2026-11-20"
    [action] = plan["outcomes"][0]["actions"]
    assert (action["text"], action["due"], action["status"], action["evidence"]) == (
        "Attendance checked daily", "2026-12-04", "in_progress", "4 of 5 days"
    )
    assert without_owners(server_plan(client, auth, room_id)) == plan


def test_an_outcome_and_an_action_removed_in_the_editor_stay_in_the_published_version(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str, password: str
) -> None:
    """The editor removes the Y.Map from its array (there is no API route for it); the
    draft no longer has it, version 1 still does, and the comparison says it went."""
    outcome_id, action_id = an_outcome_with_an_action(client, auth, room_id)
    plan_api(client, auth, "POST", f"/rooms/{room_id}/plan/outcomes/{outcome_id}/actions",
             text="Check the school register")  # fmt: skip
    plan_api(client, auth, "POST", f"/rooms/{room_id}/plan/outcomes", text="Added by mistake")
    assert publish(client, auth, room_id) == 1

    def remove(plan: Map[Any]) -> None:
        outcomes: Array[Any] = plan["outcomes"]
        [mistake] = [i for i, o in enumerate(outcomes) if str(o["text"]) == "Added by mistake"]
        del outcomes[mistake]
        [kept] = [o for o in outcomes if o["id"] == outcome_id]
        actions: Array[Any] = kept["actions"]
        [walk] = [i for i, a in enumerate(actions) if a["id"] == action_id]
        del actions[walk]

    async def scenario() -> dict[str, Any]:
        async with plan_editor(live_server.url, token_of(auth(HANA))) as hana:
            await hana.join(room_id)
            assert await hana.edit(remove) == {"ok": True}
            return hana.plan()

    plan = run_async(scenario())
    assert without_owners(server_plan(client, auth, room_id)) == plan
    assert [o["text"] for o in plan["outcomes"]] == ["Jamie attends school every day."]
    assert [a["text"] for a in plan["outcomes"][0]["actions"]] == ["Check the school register"]
    published = plan_api(client, auth, "GET", f"/rooms/{room_id}/plan/versions/1")["plan"]
    assert [o["text"] for o in published["outcomes"]] == [
        "Jamie attends school every day.", "Added by mistake"
    ]
    assert len(published["outcomes"][0]["actions"]) == 2

    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}/plan/compare?from=1&to=draft")
    assert page.status_code == 200, page.text
    said = words_of(page.text)
    assert "2 changes: 1 outcome removed, 1 action removed." in said
    assert "Added by mistake" in said and "Walk Jamie to school" in said
    assert client.get(f"/rooms/{room_id}/plan/versions/1").status_code == 200


def test_compaction_keeps_the_document_the_same(
    live_server: LiveServer,
    client: TestClient,
    auth: Tokens,
    room_id: str,
    app: Caseroom,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "COMPACT_EVERY", 5)

    async def scenario() -> dict[str, Any]:
        async with plan_editor(live_server.url, token_of(auth(SARAH))) as sarah:
            await sarah.join(room_id)
            for n in range(12):
                answer = await sarah.edit(
                    text("contingency", f"step {n}; ", len(sarah.plan()["contingency"]))
                )
                assert answer == {"ok": True}
            await sarah.edit(lambda plan: document.add_outcome(plan, "Jamie is safe at night"))
            return sarah.plan()

    plan = run_async(scenario())
    with app.db.session() as session:
        snapshots = session.exec(
            select(PlanSnapshot.seq).where(col(PlanSnapshot.room_id) == room_id)
        ).all()
        left = session.exec(
            select(func.count()).select_from(PlanUpdate).where(col(PlanUpdate.room_id) == room_id)
        ).one()
    assert len(snapshots) == 1 and left < 5, (snapshots, left)
    assert server_plan(client, auth, room_id) == plan
    assert plan["contingency"] == "".join(f"step {n}; " for n in range(12))


def test_someone_removed_from_the_room_stops_receiving_the_plan_at_once(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    dan_id = user_by_email(client.app.state.caseroom, DAN).id  # type: ignore[attr-defined]

    async def scenario() -> tuple[list[Any], list[Any], dict[str, Any]]:
        async with (
            plan_editor(live_server.url, token_of(auth(SARAH))) as sarah,
            plan_editor(live_server.url, token_of(auth(DAN))) as dan,
            plan_editor(live_server.url, token_of(auth(HANA))) as hana,
        ):
            for editor in (sarah, dan, hana):
                await editor.join(room_id)
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                removed = await http.request(
                    "DELETE", f"/api/v1/rooms/{room_id}/members/{dan_id}",
                    headers=auth(SARAH), json=REMOVAL,
                )  # fmt: skip
                assert removed.status_code == 204, removed.text
            started = time.monotonic()
            while not dan.of("member_removed"):
                assert time.monotonic() - started < 1.0, dan.received
                await asyncio.sleep(0.02)
            await sarah.edit(text("concerns", "After Dan left"))
            await hana.wait_until(lambda e: "After Dan left" in e.plan()["concerns"])
            late = await dan.edit(text("concerns", "Dan again"))
            return dan.of("plan:update"), dan.of("member_removed"), late

    updates, removed, late = run_async(scenario())
    assert updates == []
    assert [r["room_id"] for r in removed] == [room_id]
    assert late["ok"] is False and late["error"]["code"] == "not_found"


def test_a_closed_rooms_plan_is_read_only_live(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[list[Any], dict[str, Any]]:
        async with plan_editor(live_server.url, token_of(auth(HANA))) as hana:
            await hana.join(room_id)
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                closed = await http.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
                assert closed.status_code == 204, closed.text
            await hana.wait_until(lambda e: bool(e.of("plan:access")))
            refused = await hana.edit(text("concerns", "After closing"))
            return hana.of("plan:access"), refused

    told, refused = run_async(scenario())
    assert told == [{"room_id": room_id, "can_edit": False}]
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"


def test_awareness_is_relayed_to_the_others_and_never_stored(
    live_server: LiveServer, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        async with (
            plan_editor(live_server.url, token_of(auth(SARAH))) as sarah,
            plan_editor(live_server.url, token_of(auth(PETE))) as pete,
        ):
            await sarah.join(room_id)
            await pete.join(room_id)
            cursor = b"\x01\x05cursor"
            answer = await sarah.client.call(
                "plan:awareness", {"room_id": room_id, "message": cursor}
            )
            assert answer == {"ok": True}
            await pete.wait_until(lambda e: bool(e.of("plan:awareness")))
            await asyncio.sleep(0.1)
            return pete.of("plan:awareness"), sarah.of("plan:awareness")

    others, own = run_async(scenario())
    assert others == [{"room_id": room_id, "message": b"\x01\x05cursor"}]
    assert own == []


def test_two_processes_share_a_plan_live(
    two_processes: tuple[Process, Process],  # noqa: F811 (the fixture imported above)
    auth: Tokens,
    room_id: str,
) -> None:
    """Editors on different `caseroom serve` processes (one database, one Redis) see each
    other's updates and the JSON API's changes made through either."""
    a, b = two_processes

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with (
            plan_editor(a.url, token_of(auth(SARAH))) as sarah,
            plan_editor(b.url, token_of(auth(PETE))) as pete,
        ):
            await sarah.join(room_id)
            await pete.join(room_id)
            await sarah.edit(text("concerns", "Typed on A. "))
            await pete.edit(text("services", "Typed on B"))
            async with httpx2.AsyncClient(base_url=a.url) as http:
                patched = await http.patch(
                    f"/api/v1/rooms/{room_id}/plan", headers=auth(HANA),
                    json={"contingency": "Through the API on A"},
                )  # fmt: skip
                assert patched.status_code == 200, patched.text
            for editor in (sarah, pete):
                await editor.wait_until(
                    lambda e: e.plan()["concerns"] == "Typed on A. "
                    and e.plan()["services"] == "Typed on B"
                    and e.plan()["contingency"] == "Through the API on A"
                )
            return sarah.plan(), pete.plan()

    sarahs, petes = run_async(scenario())
    assert sarahs == petes


# --- a restart ---------------------------------------------------------------------------


class Serve:
    """`caseroom serve` as a process of its own, on the test's database and data dir."""

    def __init__(self, settings: Settings) -> None:
        from tests.conftest import SECRET

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (settings.data_dir / f"serve-{self.port}.log").open("wb")
        env = {k: v for k, v in os.environ.items() if k != "CASEROOM_REDIS_URL"}
        env.update(
            CASEROOM_DATABASE_URL=settings.database_url,
            CASEROOM_DATA_DIR=str(settings.data_dir),
            CASEROOM_SECRET_KEY=SECRET,
            CASEROOM_CLOCK_START=clock.for_child(),
        )
        self.proc = subprocess.Popen(
            [str(CASEROOM), "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, "caseroom serve exited"
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, "caseroom serve did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        """No goodbye: SIGKILL, as a crash or a pulled plug of the process would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()


@pytest.fixture
def serving(settings: Settings) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        if serve.proc.poll() is None:
            serve.kill()


def test_acknowledged_updates_survive_the_server_being_killed(
    settings: Settings, serving: list[Serve], client: TestClient, auth: Tokens, room_id: str
) -> None:
    first = Serve(settings)
    serving.append(first)

    async def edit_then_crash() -> dict[str, Any]:
        async with plan_editor(first.url, token_of(auth(SARAH))) as sarah:
            await sarah.join(room_id)
            for n in range(5):
                assert await sarah.edit(text("concerns", f"line {n}\n", 0)) == {"ok": True}
            await sarah.edit(lambda plan: document.add_outcome(plan, "Jamie sleeps at home"))
            first.kill()  # at once, right after the last acknowledgement
            return sarah.plan()

    written = run_async(edit_then_crash())
    second = Serve(settings)
    serving.append(second)

    async def read_after_restart() -> dict[str, Any]:
        async with plan_editor(second.url, token_of(auth(HANA))) as hana:
            await hana.join(room_id)
            return hana.plan()

    assert run_async(read_after_restart()) == written
    assert without_owners(server_plan(client, auth, room_id)) == written


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("plan:join", None),
        ("plan:join", {"room_id": 5}),
        ("plan:sync", {"room_id": "r"}),
        ("plan:sync", {"room_id": "r", "message": "not bytes"}),
        ("plan:sync", {"room_id": "r", "message": b"\x07\x00\x00"}),  # not a sync message
        ("plan:update", {"room_id": "r", "message": b"\x00\x00\x01\x00"}),  # a step 1
        ("plan:update", {"room_id": "r", "message": b"\x00\x02\x05ab"}),  # cut short
        ("plan:update", {"room_id": "r", "message": b"\x00\x02" + b"\xff" * 300_000}),
        ("plan:awareness", {"room_id": "r"}),
    ],
)
def test_a_malformed_plan_message_is_refused_and_the_socket_works_on(
    live_server: LiveServer, auth: Tokens, room_id: str, event: str, payload: Any
) -> None:
    async def scenario() -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
        async with plan_editor(live_server.url, token_of(auth(SARAH))) as sarah:
            if payload is not None and payload.get("room_id") == "r":
                payload["room_id"] = room_id
            answer = await sarah.client.call(event, payload)
            await sarah.wait_until(lambda e: bool(e.of("error")))
            return answer, sarah.of("error"), await sarah.join(room_id)

    answer, errors, joined = run_async(scenario())
    assert answer["ok"] is False and answer["error"]["code"] == "invalid", answer
    assert errors == [answer["error"]]
    assert joined == {"ok": True, "can_edit": True}


def test_whatever_an_editor_writes_the_plan_still_reads_and_the_api_repairs_it(
    live_server: LiveServer, client: TestClient, auth: Tokens, room_id: str
) -> None:
    """The policy decides who edits, not what they write: a buggy or hostile editor's
    update of the wrong shape is stored like any other, and reading skips or blanks what
    is malformed rather than failing."""

    def vandalise(plan: Any) -> None:
        plan["concerns"] = "a plain string, not a Y.Text"
        plan["key_dates"] = 42
        plan["category_initial"] = "made up"
        plan["outcomes"].append(Map({"text": Text("no id")}))
        plan["outcomes"].append(Map({
            "id": "o-1", "text": 7, "actions": Array([
                Map({"id": "a-1", "owner_id": 5, "due": "2027-02-30", "status": "bogus"}),
                "not a map",
            ]),
        }))  # fmt: skip

    async def scenario() -> None:
        async with plan_editor(live_server.url, token_of(auth(PETE))) as pete:
            await pete.join(room_id)
            assert await pete.edit(vandalise) == {"ok": True}

    run_async(scenario())
    draft = server_plan(client, auth, room_id)
    assert draft["concerns"] == "" and draft["key_dates"] == {}
    assert draft["category"] == {"initial": None, "latest": None}
    assert draft["outcomes"] == [{"id": "o-1", "text": "", "actions": [
        {"id": "a-1", "text": "", "owner": None, "due": None, "status": "not_started",
         "evidence": ""},
    ]}]  # fmt: skip
    # The API puts the structure back where it edits.
    repaired = client.patch(f"/api/v1/rooms/{room_id}/plan", headers=auth(SARAH), json={
        "concerns": "Real concerns", "key_dates": {"first_core_group": "2026-12-10"},
    })  # fmt: skip
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["concerns"] == "Real concerns"
    assert repaired.json()["key_dates"] == {"first_core_group": "2026-12-10", "reviews": []}
    changed = client.patch(f"/api/v1/rooms/{room_id}/plan/actions/a-1", headers=auth(SARAH),
                           json={"status": "done", "evidence": "Seen"})  # fmt: skip
    assert changed.json()["status"] == "done" and changed.json()["evidence"] == "Seen"
