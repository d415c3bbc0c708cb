"""`caseroom serve --host H --port P` (and `make run HOST=… PORT=…`): links in email point
where the server answers, unless CASEROOM_BASE_URL says otherwise (issue #9, item 16)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from sqlmodel import col, select

import workspace
from tests.conftest import OMAR, SARAH, SECRET, Tokens, _free_port
from workspace.clock import clock
from workspace.models import OutboxEmail, Room
from workspace.settings import Settings, served_base_url
from workspace.state import Caseroom

CASEROOM = Path(sys.executable).with_name("caseroom")
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
MAKEFILE = (Path(__file__).resolve().parent.parent / "Makefile").read_text()


@contextmanager
def caseroom_serve(settings: Settings, port: int, base_url: str | None = None) -> Iterator[str]:
    """A real `caseroom serve --port PORT` on the test's database; yields its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEROOM_")}
    env.update(
        CASEROOM_DATABASE_URL=settings.database_url,
        CASEROOM_DATA_DIR=str(settings.data_dir),
        CASEROOM_SECRET_KEY=SECRET,
        PYTHONPATH=str(Path(workspace.__file__).resolve().parent.parent),
        CASEROOM_CLOCK_START=clock.now().isoformat(),
    )
    if base_url:
        env["CASEROOM_BASE_URL"] = base_url
    log = settings.data_dir / "serve.log"
    with log.open("wb") as err, subprocess.Popen(
        [str(CASEROOM), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=err,
    ) as proc:  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start"
                try:
                    if httpx2.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx2.HTTPError:
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def serve_and_add_omar(
    settings: Settings, app: Caseroom, auth: Tokens, port: int, base_url: str | None
) -> str:
    """Sarah adds Omar to Lily's room through a real `caseroom serve --port PORT`; returns
    the text of the email that tells him."""
    with app.db.session() as session:
        lily = session.exec(select(Room).where(col(Room.title).startswith("Lily"))).one().id
    with caseroom_serve(settings, port, base_url) as url:
        response = httpx2.post(
            f"{url}/api/v1/rooms/{lily}/members",
            headers=auth(SARAH),
            json={"email": OMAR, "role": "member", "purpose": "Core group",
                  "lawful_basis": "safeguarding", "consent": "given"},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 201, response.text
    with app.db.session() as session:
        (mail,) = session.exec(
            select(OutboxEmail).where(OutboxEmail.to == OMAR, OutboxEmail.kind == "added")
        ).all()
        return mail.text_body


def test_links_in_email_follow_the_port_the_server_was_started_on(
    settings: Settings, app: Caseroom, auth: Tokens
) -> None:
    port = _free_port()
    text = serve_and_add_omar(settings, app, auth, port, base_url=None)
    assert f"http://127.0.0.1:{port}/rooms/" in text
    assert "127.0.0.1:8000" not in text


def test_caseroom_base_url_wins_over_the_port(
    settings: Settings, app: Caseroom, auth: Tokens
) -> None:
    text = serve_and_add_omar(
        settings, app, auth, _free_port(), base_url="https://caseroom.example.org"
    )
    assert "https://caseroom.example.org/rooms/" in text
    assert "127.0.0.1" not in text


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("caseroom.internal", 8101, "http://caseroom.internal:8101"),
        ("0.0.0.0", 8101, "http://127.0.0.1:8101"),  # a wildcard bind has no name
        ("::", 8101, "http://127.0.0.1:8101"),
        ("::1", 8101, "http://[::1]:8101"),
    ],
)
def test_the_base_url_a_host_and_port_give(host: str, port: int, url: str) -> None:
    assert served_base_url(host, port) == url


def test_the_readme_says_how_to_choose_the_host_and_port() -> None:
    assert "HOST ?=" in MAKEFILE and "PORT ?=" in MAKEFILE
    assert "make run HOST=" in README and "PORT=" in README
    assert "`HOST=127.0.0.1`" in README and "`PORT=8000`" in README


def test_sockets_are_not_compressed_even_when_the_browser_offers_it(settings: Settings) -> None:
    """Chromium offers permessage-deflate on every WebSocket. Compressing text a member
    chose together with case data in one compression context leaks the case data by the
    frames' sizes (as CRIME and BREACH did for HTTPS), and costs CPU for every listener of
    every message: `caseroom serve` declines it."""
    port = _free_port()
    with caseroom_serve(settings, port), socket.create_connection(("127.0.0.1", port)) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                "\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 101"), head
    assert "sec-websocket-extensions" not in head
