"""Two `caseroom serve` processes on different ports, one database and one Redis: each
delivers the other's messages, keeps restricted items to their audience, and a removal
made on one process ends the member's live access on the other within a second, as does a
credential ending (revoked, or timed out with no event at all)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
import redis
from sqlmodel import select

from tests.aio import run_async
from tests.conftest import DAN, HANA, PETE, REMOVAL, SARAH, Tokens, _free_port, user_by_email
from tests.test_chat_sockets import connected, token_of
from tests.test_sign_in import form_value
from tests.test_socket_credentials import (
    browser_socket,
    closes_within,
    closings,
    cookie_of,
    sign_in,
)
from workspace.clock import clock
from workspace.models import ApiToken, WebSession
from workspace.settings import Settings
from workspace.state import Caseroom

REDIS_URL = os.environ.get("CASEROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CASEROOM = Path(sys.executable).with_name("caseroom")


class Process:
    def __init__(self, settings: Settings, secret: str) -> None:
        self.port = _free_port()
        self.log_path = settings.data_dir / f"serve-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CASEROOM_DATABASE_URL": settings.database_url,
            "CASEROOM_DATA_DIR": str(settings.data_dir),
            "CASEROOM_SECRET_KEY": secret,
            "CASEROOM_REDIS_URL": REDIS_URL,
            "CASEROOM_CLOCK_START": clock.for_child(),  # the test's time, exactly
        }
        self.proc = subprocess.Popen(
            [str(CASEROOM), "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server process did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def two_processes(settings: Settings) -> Iterator[tuple[Process, Process]]:
    redis.Redis.from_url(REDIS_URL).ping()  # Redis must be there: this test never skips
    from tests.conftest import SECRET

    a, b = Process(settings, SECRET), Process(settings, SECRET)
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_two_processes_share_messages_filtering_and_revocation(
    two_processes: tuple[Process, Process], auth: Tokens
) -> None:
    a, b = two_processes

    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=a.url) as http:
            rooms = (await http.get("/api/v1/rooms", headers=auth(SARAH))).json()["items"]
            room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
            dan_id = (await http.get("/api/v1/me", headers=auth(DAN))).json()["id"]
            async with (
                connected(a, token_of(auth(SARAH))) as sarah,  # type: ignore[arg-type]
                connected(a, token_of(auth(HANA))) as hana,  # type: ignore[arg-type]
                connected(b, token_of(auth(PETE))) as pete,  # type: ignore[arg-type]
                connected(b, token_of(auth(DAN))) as dan,  # type: ignore[arg-type]
            ):
                for who in (sarah, hana, pete, dan):
                    assert (await who.client.call("join", {"room_id": room_id}))["ok"]
                # Presence crosses processes: Sarah (on A) sees Dan (on B) arrive... or
                # finds him online already when she joined after him.
                online = (await sarah.client.call("join", {"room_id": room_id}))["online"]
                assert dan_id in online

                await pete.client.call(
                    "message",
                    {
                        "room_id": room_id,
                        "body": "Police only, from B",
                        "kind": "fact",
                        "sensitivity": "restricted",
                    },
                )
                await sarah.client.call(
                    "message",
                    {
                        "room_id": room_id,
                        "body": "Everyone, from A",
                        "kind": "note",
                        "sensitivity": "room",
                    },
                )
                for who in (sarah, hana, pete, dan):
                    await who.wait_for("message", lambda m: m["body"] == "Everyone, from A")
                await sarah.wait_for("message", lambda m: m["body"] == "Police only, from B")
                for who in (hana, dan):
                    assert "Police only, from B" not in [m["body"] for m in who.of("message")]

                started = time.monotonic()
                removed = await http.request(
                    "DELETE",
                    f"/api/v1/rooms/{room_id}/members/{dan_id}",
                    headers=auth(SARAH),
                    json=REMOVAL,
                )
                assert removed.status_code == 204
                await dan.wait_for("member_removed", timeout=1.0)
                assert time.monotonic() - started < 1.0
                await sarah.client.call(
                    "message",
                    {
                        "room_id": room_id,
                        "body": "After removal",
                        "kind": "note",
                        "sensitivity": "room",
                    },
                )
                await hana.wait_for("message", lambda m: m["body"] == "After removal")
                # The marker for Dan, who is in no room now: being added again tells him
                # (a notice), through Redis like the message, after it.
                told = len(dan.of("notice"))
                added = await http.post(
                    f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
                    json={"email": DAN, "role": "member", "purpose": "Back in",
                          "lawful_basis": "safeguarding", "consent": "given"},
                )  # fmt: skip
                assert added.status_code == 201, added.text
                await dan.wait_for("notice", lambda _n: len(dan.of("notice")) > told)
                assert "You were added" in dan.of("notice")[-1]["text"], dan.of("notice")
                assert "After removal" not in [m["body"] for m in dan.of("message")]

    run_async(scenario())


def test_a_credential_ending_on_one_process_closes_its_sockets_on_the_other(
    two_processes: tuple[Process, Process], auth: Tokens, app: Caseroom, password: str
) -> None:
    """A token revoked on A closes the socket opened with it on B at once; a session that
    reaches its absolute timeout (nothing happens: no request, no event) has its socket on
    B closed within a second of that moment. B audits both closings."""
    a, b = two_processes

    async def scenario() -> float:
        async with httpx2.AsyncClient(base_url=a.url) as http:
            rooms = (await http.get("/api/v1/rooms", headers=auth(SARAH))).json()["items"]
            room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
            await sign_in(http, SARAH, password)
            csrf = form_value((await http.get("/account")).text, "csrf_token")
            made = await http.post("/account/tokens", data={"name": "script", "csrf_token": csrf})
            found = re.search(r'data-testid="api-token">([^<]+)<', made.text)
            assert found, made.text
            async with (
                connected(b, found.group(1)) as script,  # type: ignore[arg-type]
                connected(b, token_of(auth(HANA))) as hana,  # type: ignore[arg-type]
            ):
                for who in (script, hana):
                    assert (await who.client.call("join", {"room_id": room_id}))["ok"]
                with app.db.session() as session:
                    token_id = session.exec(
                        select(ApiToken.id).where(ApiToken.name == "script")
                    ).one()
                async with closes_within(script, 1.0):  # on B, revoked on A
                    revoked = await http.post(
                        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}
                    )
                    assert revoked.status_code == 303, revoked.text
                await hana.client.call(
                    "message", {"room_id": room_id, "body": "After revocation", "kind": "note",
                                "sensitivity": "room"},
                )  # fmt: skip
                await hana.wait_for("message", lambda m: m["body"] == "After revocation")

            # The session made on A reaches its absolute timeout 2 s from now.
            deadline = clock.now() + timedelta(seconds=2)
            with app.db.session() as session:
                (record,) = session.exec(select(WebSession)).all()
                record.created_at = deadline - timedelta(hours=12)
                session.add(record)
                session.commit()
            async with browser_socket(b, cookie_of(http)) as page:  # type: ignore[arg-type]
                assert (await page.client.call("join", {"room_id": room_id}))["ok"]
                await asyncio.wait_for(page.closed.wait(), timeout=4.0)
                late = (clock.now() - deadline).total_seconds()
            assert (await http.get("/api/v1/me")).status_code == 401
            return late

    late = run_async(scenario())
    assert 0 <= late < 1.0  # closed within a second of the timeout, not before
    sarah = user_by_email(app, SARAH).id
    assert [(c.actor_id, c.purpose) for c in closings(app, expected=2)] == [
        (sarah, "token revoked"), (sarah, "absolute timeout")
    ]
