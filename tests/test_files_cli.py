"""The client commands of DESIGN.md §6 against a real server, configured only by
CASEROOM_URL and CASEROOM_TOKEN: `caseroom keys init`, `caseroom files put|get|list`."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HANA, SARAH, LiveServer, Tokens
from tests.support import Cli, CliResult
from tests.test_chat_sockets import jamie, token_of
from workspace.settings import Settings
from workspace.state import Caseroom

PASSPHRASE = "a long passphrase for my keys"


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


class As:
    """Run the client as someone: their token in CASEROOM_TOKEN, the server in CASEROOM_URL."""

    def __init__(self, cli: Cli, server: LiveServer, auth: Tokens, mp: pytest.MonkeyPatch) -> None:
        self.cli, self.server, self.auth, self.mp = cli, server, auth, mp

    def __call__(self, email: str, *argv: str, stdin: str = "") -> CliResult:
        self.mp.setenv("CASEROOM_URL", self.server.url)
        self.mp.setenv("CASEROOM_TOKEN", token_of(self.auth(email)))
        return self.cli(*argv, stdin=stdin)


@pytest.fixture
def run(cli: Cli, live_server: LiveServer, auth: Tokens, monkeypatch: pytest.MonkeyPatch) -> As:
    return As(cli, live_server, auth, monkeypatch)


def test_keys_init_put_list_get(
    run: As, client: Any, auth: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("agency")
    room_id = jamie(client, auth)
    for who in (SARAH, HANA):
        made = run(who, "keys", "init", "--key", str(home / f"{who}.key"), stdin=PASSPHRASE + "\n")
        assert made.code == 0, made.err
        assert stat.S_IMODE((home / f"{who}.key").stat().st_mode) == 0o600
    again = run(SARAH, "keys", "init", "--key", str(home / f"{SARAH}.key"), stdin=PASSPHRASE)
    assert again.code == 1 and "exists" in again.err
    original = home / "minutes.txt"
    original.write_bytes(b"Strategy discussion minutes\n" * 5000)
    put = run(SARAH, "files", "put", room_id, str(original), "--key", str(home / f"{SARAH}.key"))
    assert put.code == 0, put.err
    file_id = put.last_line
    listed = run(HANA, "files", "list", room_id)
    assert listed.code == 0 and file_id in listed.out and "(key)" in listed.out
    out = home / "got.txt"
    got = run(HANA, "files", "get", file_id, "--key", str(home / f"{HANA}.key"), "-o", str(out))
    assert got.code == 0, got.err
    assert out.read_bytes() == original.read_bytes()
    assert "minutes.txt" in got.out


def test_a_tampered_file_fails_with_a_clear_message_and_writes_nothing(
    run: As, client: Any, auth: Tokens, app: Caseroom, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("agency")
    room_id = jamie(client, auth)
    for who in (SARAH, HANA):
        assert run(who, "keys", "init", "--key", str(home / who), stdin=PASSPHRASE).code == 0
    (home / "a.bin").write_bytes(b"\x00" * 70_000)
    file_id = run(SARAH, "files", "put", room_id, str(home / "a.bin"), "--key",
                  str(home / SARAH)).last_line  # fmt: skip
    [stored] = [p for p in (app.settings.data_dir / "files").rglob("*") if p.is_file()]
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    out = home / "out.bin"
    got = run(HANA, "files", "get", file_id, "--key", str(home / HANA), "-o", str(out))
    assert got.code == 1
    assert "did not verify" in got.err and "reported" in got.err
    assert not out.exists()


def test_without_url_and_token_the_client_says_what_to_set(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CASEROOM_URL", raising=False)
    monkeypatch.delenv("CASEROOM_TOKEN", raising=False)
    with pytest.raises(SystemExit, match="CASEROOM_URL and CASEROOM_TOKEN"):
        cli("files", "list", "some-room")


def test_keys_fingerprint_prints_what_others_see_beside_ones_name(
    run: As, client: Any, auth: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("agency")
    assert run(HANA, "keys", "init", "--key", str(home / HANA), stdin=PASSPHRASE).code == 0
    shown = run(HANA, "keys", "fingerprint", "--key", str(home / HANA))
    assert shown.code == 0, shown.err
    published = client.get("/api/v1/me/keys", headers=auth(HANA)).json()["fingerprint"]
    assert shown.last_line == published
    missing = run(HANA, "keys", "fingerprint", "--key", str(home / "nowhere"))
    assert missing.code == 1 and "cannot read the key file" in missing.err


def test_a_recipients_new_keys_stop_put_until_accepted_by_their_id(
    run: As, client: Any, auth: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("agency")
    room_id = jamie(client, auth)
    for who in (SARAH, HANA):
        assert run(who, "keys", "init", "--key", str(home / who), stdin=PASSPHRASE).code == 0
    (home / "a.txt").write_bytes(b"minutes")
    put = ("files", "put", room_id, str(home / "a.txt"), "--key", str(home / SARAH))
    assert run(SARAH, *put).code == 0
    old = run(HANA, "keys", "fingerprint", "--key", str(home / HANA)).last_line
    # Hana makes new keys (another machine, a forgotten passphrase).
    assert run(HANA, "keys", "init", "--key", str(home / "hana-2"), stdin=PASSPHRASE).code == 0
    new = run(HANA, "keys", "fingerprint", "--key", str(home / "hana-2")).last_line
    hana_id = client.get("/api/v1/me", headers=auth(HANA)).json()["id"]
    refused = run(SARAH, *put)
    assert refused.code == 1
    for told in ("Hana Kowalski", old, new, f"--accept-new-keys {hana_id}", "Nothing was uploaded"):
        assert told in refused.err
    accepted = run(SARAH, *put, "--accept-new-keys", hana_id)
    assert accepted.code == 0, accepted.err
    got = run(HANA, "files", "get", accepted.last_line, "--key", str(home / "hana-2"), "-o",
              str(home / "got.txt"))  # fmt: skip
    assert got.code == 0, got.err
