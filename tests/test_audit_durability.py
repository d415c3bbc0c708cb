"""No read is acknowledged whose audit record is not durable (issue #13): a server killed
with SIGKILL in the middle of a load of audited reads leaves a chain that verifies, and
every read a client was answered for is in it, under the request id it was answered with.
"""

from __future__ import annotations

import asyncio
import signal

import httpx2
import pytest
import redis
from sqlmodel import col, select

from tests.aio import run_async
from tests.conftest import SARAH, SECRET, Tokens, user_by_email
from tests.support import Cli
from tests.test_browser import room_id_for
from tests.test_chat_scale_out import REDIS_URL, Process
from workspace.models import AuditEvent
from workspace.settings import Settings
from workspace.state import Caseroom

WORKERS = 8
KILL_AFTER = 60  # acknowledged reads before the kill


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


def test_a_server_killed_mid_load_keeps_every_acknowledged_read_and_an_intact_chain(
    settings: Settings, app: Caseroom, auth: Tokens, cli: Cli
) -> None:
    redis.Redis.from_url(REDIS_URL).ping()
    room = room_id_for(app, "Jamie Carter")
    headers = auth(SARAH)
    server = Process(settings, SECRET)
    acknowledged: list[str] = []
    refused_after_kill = 0

    async def load() -> None:
        nonlocal refused_after_kill
        killed = asyncio.Event()

        async def reader(client: httpx2.AsyncClient, n: int) -> None:
            nonlocal refused_after_kill
            path = f"/api/v1/rooms/{room}" + ("/messages" if n % 2 else "")
            while True:
                try:
                    got = await client.get(server.url + path, headers=headers)
                except httpx2.HTTPError:
                    if killed.is_set():
                        refused_after_kill += 1
                        return
                    raise
                assert got.status_code == 200, got.text
                acknowledged.append(got.headers["X-Request-Id"])
                if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                    server.proc.send_signal(signal.SIGKILL)  # no shutdown, no flush
                    killed.set()

        # Generous: this is about what is kept, not how fast (bench/ measures that).
        async with httpx2.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(reader(client, n) for n in range(WORKERS)))

    try:
        server.wait_ready()
        run_async(load())
    finally:
        server.stop()

    assert len(acknowledged) >= KILL_AFTER and refused_after_kill == WORKERS
    verified = cli("audit", "verify")
    assert verified.code == 0, verified.err
    assert "Audit chain intact" in verified.out
    sarah = user_by_email(app, SARAH)
    with app.db.session() as session:
        recorded = set(
            session.exec(
                select(AuditEvent.request_id).where(
                    col(AuditEvent.actor_id) == sarah.id,
                    col(AuditEvent.outcome) == "allowed",
                    col(AuditEvent.request_id).in_(acknowledged),
                )
            ).all()
        )
    assert recorded == set(acknowledged)
