"""End-to-end encrypted files (issue #10), through a real server (`live_server`) and the
real Python client (workspace/client/): what one person puts, those the policy names get
back byte for byte; everyone else learns nothing, not even that the file exists; the
server refuses keys for the wrong people, oversized uploads, and holds no plaintext and no
key; a changed byte on its disk is caught by the reader, and reported."""

from __future__ import annotations

import dataclasses
import http.client
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

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
    user_by_email,
)
from tests.file_world import MARKER, World
from tests.mailing import add_member
from tests.test_chat_sockets import jamie, token_of
from tests.test_sharing import REASONS
from workspace import fileformat
from workspace.client import crypto, files
from workspace.client.crypto import Tampered
from workspace.client.http import ApiError
from workspace.client.known import KeysChanged
from workspace.models import AuditEvent, EncryptedFile, SealedKey, SharingDecision
from workspace.settings import Settings
from workspace.state import Caseroom


def in_room(room_id: str) -> files.Scope:
    """Where the tests below post a file by hand: the room, for its readers."""
    return files.Scope.room(room_id, "room")


@pytest.fixture
def room_id(client: Any, auth: Tokens) -> str:
    return jamie(client, auth)


def status_of(call: Any) -> int:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status


def a_report(size: int = 200_000) -> bytes:
    """More than three chunks, the marker in the middle of the second."""
    body = bytearray(bytes(range(256)) * (size // 256 + 1))[:size]
    body[70_000 : 70_000 + len(MARKER)] = MARKER
    return bytes(body)


# --- sharing and reading --------------------------------------------------------------------


def test_what_sarah_puts_hana_gets_byte_for_byte_and_omar_cannot_know_of(
    world: World, room_id: str
) -> None:
    world(HANA)  # has published keys
    original = a_report()
    file_id = world.put(SARAH, room_id, original)
    assert world.get(HANA, file_id) == original
    listed = files.list_files(world(HANA).api, room_id)
    assert [f["id"] for f in listed] == [file_id]
    assert listed[0]["sealed_key"]  # Hana's own
    omar = world(OMAR)
    for path in (f"/files/{file_id}", f"/files/{file_id}/content"):
        assert status_of(lambda p=path: omar.api.json("GET", p)) == 404
    assert status_of(lambda: omar.api.json("GET", f"/users/{world(SARAH).id}/keys")) == 404
    assert status_of(lambda: omar.api.json("GET", f"/rooms/{room_id}/files")) == 404
    # A member sees Sarah's public keys (and the same fingerprint she has).
    keys = world(HANA).api.json("GET", f"/users/{world(SARAH).id}/keys")
    assert keys["fingerprint"] == world(SARAH).api.json("GET", "/me/keys")["fingerprint"]
    assert "sealed_private" not in keys


def test_the_metadata_carries_only_the_callers_own_sealed_key(world: World, room_id: str) -> None:
    world(HANA)
    file_id = world.put(SARAH, room_id, b"x")
    sarah = world(SARAH).api.json("GET", f"/files/{file_id}")
    hana = world(HANA).api.json("GET", f"/files/{file_id}")
    assert sarah["sealed_key"] and hana["sealed_key"] and sarah["sealed_key"] != hana["sealed_key"]
    assert "keys" not in hana and hana["sealed_key"] not in repr(sarah)


def test_a_restricted_file_reaches_only_the_uploaders_organisation_and_the_lead(
    world: World, room_id: str
) -> None:
    """Rule 2: Pete's (police) restricted file; Sarah leads; Hana (health) and Dan (school)
    may not know of it — not in the list, not its metadata, not its content."""
    world(SARAH)
    recipients = world(PETE).api.json("GET", f"/rooms/{room_id}/recipients?sensitivity=restricted")
    names = {r["user"]["email"] for r in recipients["items"]} | {
        u["email"] for u in recipients["waiting"]
    }
    assert names == {PETE, SARAH}
    secret = b"police intelligence " + MARKER
    file_id = world.put(PETE, room_id, secret, sensitivity="restricted")
    assert world.get(SARAH, file_id) == secret
    for other in (HANA, DAN):
        who = world(other)
        assert [f["id"] for f in files.list_files(who.api, room_id)] == []
        assert status_of(lambda a=who.api: a.json("GET", f"/files/{file_id}")) == 404
        assert status_of(lambda a=who.api: list(a.download(f"/files/{file_id}/content"))) == 404


# --- the recipients the policy names --------------------------------------------------------


def test_keys_for_any_other_set_than_the_recipients_are_refused_with_the_current_list(
    world: World, room_id: str
) -> None:
    sarah = world(SARAH)
    world(HANA)
    assert sarah.key is not None
    plain = b"hello"
    only_me = files.Api(world.server.url, sarah.api.token)
    listed = only_me.json("GET", f"/rooms/{room_id}/recipients?sensitivity=room")
    everyone = {r["user"]["id"] for r in listed["items"]}
    assert {sarah.id, world(HANA).id} <= everyone

    def post_for(people: list[tuple[str, str]]) -> Any:
        import io

        encrypted = crypto.encrypt_stream(io.BytesIO(plain), io.BytesIO(), room_id, FILE_ID)
        name = crypto.encrypt_name(encrypted.key, "note.txt", "text/plain", room_id, FILE_ID)
        files._post(only_me, in_room(room_id), FILE_ID, sarah.key, "room", "fact", encrypted, name,
                    people)  # fmt: skip

    with pytest.raises(ApiError) as caught:
        post_for([(sarah.id, sarah.api.json("GET", "/me/keys")["box_public"])])
    assert caught.value.status == 409 and caught.value.code == "recipients_changed"
    current = caught.value.body
    assert {r["user"]["id"] for r in current["recipients"]} == everyone
    assert {u["email"] for u in current["waiting"]} == {PETE, DAN}  # no keys yet
    # With exactly the list it was given, the same upload is accepted.
    post_for([(r["user"]["id"], r["box_public"]) for r in current["recipients"]])


FILE_ID = "6f1c1d3e-8a4b-4c2d-9e5f-0a1b2c3d4e5f"


def test_a_removed_member_loses_their_keys_and_is_left_out_of_the_next_upload(
    world: World, room_id: str, client: Any, auth: Tokens, app: Caseroom
) -> None:
    dan, _ = world(DAN), world(HANA)
    file_id = world.put(SARAH, room_id, b"before dan left")
    assert dan.api.json("GET", f"/files/{file_id}")["sealed_key"]
    removed = client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{dan.id}", headers=auth(SARAH), json=REMOVAL
    )
    assert removed.status_code == 204, removed.text
    assert status_of(lambda: dan.api.json("GET", f"/files/{file_id}")) == 404
    with app.db.session() as session:
        assert session.exec(select(SealedKey).where(SealedKey.user_id == dan.id)).all() == []
    later = world.put(SARAH, room_id, b"after dan left")
    recipients = world(SARAH).api.json("GET", f"/files/{later}")["manifest"]
    assert dan.id not in recipients and world(HANA).id in recipients


# --- the size limit, and what is on disk ----------------------------------------------------


@pytest.fixture
def small_server(settings: Settings) -> Iterator[tuple[LiveServer, Caseroom]]:
    """A server whose files may be at most 300 000 bytes."""
    app = Caseroom.build(dataclasses.replace(settings, max_file_bytes=300_000))
    with LiveServer(app) as server:
        yield server, app
    app.db.dispose()


def files_on_disk(data_dir: Path) -> list[Path]:
    root = data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_over_the_limit_is_refused_while_streaming_and_leaves_nothing(
    small_server: tuple[LiveServer, Caseroom], auth: Tokens, tmp_path_factory: Any
) -> None:
    server, app = small_server
    auth.app = app
    world = World(server, auth, app, tmp_path_factory.mktemp("outside"))
    room_id = next(r["id"] for r in world(SARAH).api.json("GET", "/rooms")["items"]
                   if r["child"]["name"] == "Jamie Carter")  # fmt: skip
    # Declared too large: refused before anything is sent.
    with pytest.raises(ApiError) as caught:
        world.put(SARAH, room_id, b"\0" * 400_000)
    assert caught.value.status == 413
    # Declared within the limit, then a longer body streamed without a length: cut off at
    # the limit, nothing kept, and the file still waits for its real content.
    # Declared at exactly the limit (299,915 bytes in 5 chunks = 300,000 encrypted), so
    # the first byte past the declared size is also past the limit, however the body is cut.
    plain = b"\1" * 299_915
    assert fileformat.ciphertext_size(len(plain)) == app.settings.max_file_bytes
    sarah = world(SARAH)
    assert sarah.key is not None
    with app.db.session() as session:
        before = len(session.exec(select(EncryptedFile)).all())
    file_id = _post_only(world, room_id, plain)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("PUT", f"/api/v1/files/{file_id}/content")
    conn.putheader("Authorization", f"Bearer {sarah.api.token}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(10):
            piece = b"\2" * 100_000
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = conn.getresponse()
    answer = response.read()
    response.close()
    conn.close()
    assert response.status == 413, answer
    assert files_on_disk(app.settings.data_dir) == []
    with app.db.session() as session:
        stored = session.exec(select(EncryptedFile).where(EncryptedFile.id == file_id)).one()
        assert stored.content_state == "pending"
        assert len(session.exec(select(EncryptedFile)).all()) == before + 1


def _post_only(world: World, room_id: str, plain: bytes) -> str:
    """The metadata of an upload, without its content (what a client does first)."""
    import io
    import uuid

    sarah = world(SARAH)
    assert sarah.key is not None
    file_id = str(uuid.uuid4())
    encrypted = crypto.encrypt_stream(io.BytesIO(plain), io.BytesIO(), room_id, file_id)
    name = crypto.encrypt_name(encrypted.key, "big.bin", "application/octet-stream", room_id,
                               file_id)  # fmt: skip
    listed = sarah.api.json("GET", f"/rooms/{room_id}/recipients?sensitivity=room")
    people = [(r["user"]["id"], r["box_public"]) for r in listed["items"]]
    files._post(sarah.api, in_room(room_id), file_id, sarah.key, "room", "fact", encrypted, name,
                people)  # fmt: skip
    return file_id


def test_the_data_dir_holds_no_plaintext_and_no_file_key(
    world: World, room_id: str, app: Caseroom
) -> None:
    file_id = world.put(SARAH, room_id, a_report())
    sarah = world(SARAH)
    assert sarah.key is not None
    sealed = sarah.api.json("GET", f"/files/{file_id}")["sealed_key"]
    file_key = crypto.open_key(sarah.key.keys, sealed)
    secrets = {
        "marker": MARKER,
        "file key": file_key,
        "file key (base64)": fileformat.b64(file_key).encode(),
        "file key (hex)": file_key.hex().encode(),
        "Sarah's private key": sarah.key.keys.box_secret,
        "Sarah's private key (base64)": fileformat.b64(sarah.key.keys.box_secret).encode(),
        "file name": b"report.pdf",
    }
    app.db.dispose()  # everything written out (SQLite: the WAL too, which is read as well)
    found = {
        (name, str(path.relative_to(app.settings.data_dir)))
        for path in app.settings.data_dir.rglob("*") if path.is_file()
        for name, needle in secrets.items() if needle in path.read_bytes()
    }  # fmt: skip
    assert found == set()
    assert len(files_on_disk(app.settings.data_dir)) == 1


def test_a_flipped_byte_on_the_servers_disk_fails_verification_and_is_reported(
    world: World, room_id: str, app: Caseroom
) -> None:
    world(HANA)
    file_id = world.put(SARAH, room_id, a_report())
    [stored] = files_on_disk(app.settings.data_dir)
    data = bytearray(stored.read_bytes())
    data[100_000] ^= 0x01
    stored.write_bytes(bytes(data))
    out = world.outside / "tampered.out"
    hana = world(HANA)
    assert hana.key is not None
    with pytest.raises(Tampered):
        files.get(hana.api, file_id, hana.key, out)
    assert not out.exists()
    assert [p.name for p in world.outside.iterdir() if p.name.startswith(".caseroom-")] == []
    with app.db.session() as session:
        reports = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "file_verification_failed")
        ).all()
    assert [(r.resource_id, r.actor_id) for r in reports] == [(file_id, hana.id)]


def test_a_changed_manifest_fails_verification(
    world: World, room_id: str, app: Caseroom
) -> None:
    world(HANA)
    file_id = world.put(SARAH, room_id, b"the real one")
    with app.db.session() as session:
        stored = session.get(EncryptedFile, file_id)
        assert stored is not None
        stored.manifest = stored.manifest.replace('"v":1', '"v":1 ')
        session.add(stored)
        session.commit()
    with pytest.raises(Tampered, match="signature"):
        world.get(HANA, file_id)


# --- wrapping for more people ---------------------------------------------------------------


def test_the_leads_share_with_a_guest_records_a_sharing_decision(
    world: World, room_id: str, client: Any, auth: Tokens, app: Caseroom
) -> None:
    world(HANA)
    original = b"earlier assessment " + MARKER
    file_id = world.put(SARAH, room_id, original)
    add_member(client, auth, room_id, HOLLY, role="guest", expires_at=None)
    holly = world(HOLLY)
    # Rule 3: an earlier item is not hers until the lead shares it (nor offered to wrap).
    assert status_of(lambda: holly.api.json("GET", f"/files/{file_id}")) == 404
    assert world(SARAH).api.json("GET", f"/files/{file_id}")["offer_to_wrap"] == []
    assert world(SARAH).key is not None
    # Not without reasons; not by anyone but the lead.
    with pytest.raises(ApiError) as caught:
        files.share(world(SARAH).api, file_id, world(SARAH).key, holly.id)  # type: ignore[arg-type]
    assert caught.value.status == 422
    hana = world(HANA)
    with pytest.raises(ApiError) as caught:
        files.share(hana.api, file_id, hana.key, holly.id, REASONS)  # type: ignore[arg-type]
    assert caught.value.status == 403
    files.share(world(SARAH).api, file_id, world(SARAH).key, holly.id, REASONS)  # type: ignore[arg-type]
    assert world.get(HOLLY, file_id) == original
    with app.db.session() as session:
        decisions = session.exec(
            select(SharingDecision).where(SharingDecision.item_id == file_id)
        ).all()
    assert [(d.what, d.with_user_id, d.decided_by_id) for d in decisions] == [
        ("file", holly.id, world(SARAH).id)
    ]


def test_someone_entitled_at_upload_who_had_no_keys_is_given_one_without_a_decision(
    world: World, room_id: str, app: Caseroom
) -> None:
    dan, _ = world(DAN, keys=False), world(HANA)
    file_id = world.put(SARAH, room_id, b"for everyone in the room")
    assert dan.api.json("GET", f"/files/{file_id}")["sealed_key"] is None
    hana = world(HANA)  # not the lead: any holder may wrap for someone entitled
    assert hana.api.json("GET", f"/files/{file_id}")["offer_to_wrap"] == []
    dan.key = world.publish(dan)
    offered = hana.api.json("GET", f"/files/{file_id}")["offer_to_wrap"]
    assert [o["user"]["id"] for o in offered] == [dan.id]
    # The room's list says so too, so a page can offer it without opening each file.
    [listed] = hana.api.json("GET", f"/rooms/{room_id}/files")["items"]
    assert [o["user"]["id"] for o in listed["offer_to_wrap"]] == [dan.id]
    assert dan.api.json("GET", f"/files/{file_id}")["offer_to_wrap"] == []  # holds no key
    assert hana.key is not None
    files.share(hana.api, file_id, hana.key, dan.id)
    assert hana.api.json("GET", f"/files/{file_id}")["offer_to_wrap"] == []
    assert world.get(DAN, file_id) == b"for everyone in the room"
    with app.db.session() as session:
        assert session.exec(select(SharingDecision).where(
            SharingDecision.item_id == file_id)).all() == []  # fmt: skip
    # Dan is told, in the app, that he can open it now (not what it is).
    told = [n["text"] for n in dan.api.json("GET", "/notifications")["items"]]
    assert any("Hana Kowalski gave you the key to a file" in t for t in told), told


def test_every_files_route_is_in_the_openapi_document(client: Any) -> None:
    from workspace.routes.api import files as files_routes

    paths = client.get("/api/v1/openapi.json").json()["paths"]
    missing = [
        f"{method} {route.path}"
        for route in files_routes.routes
        for method in route.methods or ()
        if method != "HEAD" and method.lower() not in paths.get(route.path, {})
    ]
    assert missing == []


# --- live delivery --------------------------------------------------------------------------


def test_a_file_event_reaches_exactly_the_sockets_that_may_read_it(
    world: World, room_id: str, live_server: LiveServer, auth: Tokens
) -> None:
    """Pete's restricted file is told to Pete and the lead, not to Hana or Dan; a room file
    after it (the marker) reaches everyone, so the absence above is not a matter of time."""
    import asyncio

    from tests.aio import run_async
    from tests.test_chat_sockets import connected

    for who in (SARAH, HANA, DAN):
        world(who)

    async def scenario() -> dict[str, list[Any]]:
        emails = (SARAH, PETE, HANA, DAN)
        async with (
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(HANA))) as hana,
            connected(live_server, token_of(auth(DAN))) as dan,
        ):
            sockets = dict(zip(emails, (sarah, pete, hana, dan), strict=True))
            for listener in sockets.values():
                assert (await listener.client.call("join", {"room_id": room_id}))["ok"]
            restricted = await asyncio.to_thread(
                world.put, PETE, room_id, b"police only", sensitivity="restricted"
            )
            marker = await asyncio.to_thread(world.put, PETE, room_id, b"for the room")
            for listener in sockets.values():
                await listener.wait_for("file", lambda f: f["id"] == marker, timeout=5)
            return {
                email: [f["id"] for f in s.of("file") if f["id"] == restricted]
                for email, s in sockets.items()
            }

    heard = run_async(scenario())
    assert {email for email, ids in heard.items() if ids} == {SARAH, PETE}


# --- bad input ------------------------------------------------------------------------------


def test_content_of_another_size_or_hash_is_refused_and_a_correct_retry_is_kept(
    world: World, room_id: str, app: Caseroom
) -> None:
    import io
    import uuid

    sarah = world(SARAH)
    assert sarah.key is not None
    file_id = str(uuid.uuid4())
    ciphertext = io.BytesIO()
    encrypted = crypto.encrypt_stream(io.BytesIO(b"the real content"), ciphertext, room_id,
                                      file_id)  # fmt: skip
    name = crypto.encrypt_name(encrypted.key, "a.txt", "text/plain", room_id, file_id)
    me = sarah.api.json("GET", "/me/keys")["box_public"]
    files._post(sarah.api, in_room(room_id), file_id, sarah.key, "room", "fact", encrypted, name,
                [(sarah.id, me)])  # fmt: skip
    good = ciphertext.getvalue()
    # Until its content has arrived the file is not an item of the room: only Sarah knows.
    hana = world(HANA)
    assert status_of(lambda: hana.api.json("GET", f"/files/{file_id}")) == 404
    assert files.list_files(hana.api, room_id) == []
    flipped = bytes([good[0] ^ 1]) + good[1:]
    for wrong, field in ((good[:-1], "size"), (good + b"!", "size"), (flipped, "sha256")):
        with pytest.raises(ApiError) as caught:
            sarah.api.upload(f"/files/{file_id}/content", io.BytesIO(wrong), len(wrong))
        assert caught.value.status == 422, wrong
        assert field in caught.value.body["error"]["fields"]
        assert files_on_disk(app.settings.data_dir) == []
    sarah.api.upload(f"/files/{file_id}/content", io.BytesIO(good), len(good))
    assert len(files_on_disk(app.settings.data_dir)) == 1
    with pytest.raises(ApiError) as caught:  # once only
        sarah.api.upload(f"/files/{file_id}/content", io.BytesIO(good), len(good))
    assert caught.value.status == 409
    with pytest.raises(ApiError) as caught:  # and only by the uploader
        hana.api.upload(f"/files/{file_id}/content", io.BytesIO(good), len(good))
    assert caught.value.status == 403  # she may read it, so may know it exists


def test_a_manifest_that_does_not_describe_the_upload_or_is_not_signed_is_refused(
    world: World, room_id: str
) -> None:
    sarah = world(SARAH)
    assert sarah.key is not None
    listed = sarah.api.json("GET", f"/rooms/{room_id}/recipients?sensitivity=room")
    people = [(r["user"]["id"], r["box_public"]) for r in listed["items"]]

    def attempt(**change: Any) -> ApiError:
        import io
        import uuid

        file_id = str(uuid.uuid4())
        encrypted = crypto.encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), room_id, file_id)
        name = crypto.encrypt_name(encrypted.key, "x", "text/plain", room_id, file_id)
        sealed = [(u, b, crypto.seal_key(encrypted.key, b)) for u, b in people]
        manifest = fileformat.manifest(
            room_id=room_id, file_id=file_id, uploader_id=sarah.id, sensitivity="room",
            header=encrypted.header, size=encrypted.size, sha256=encrypted.sha256,
            encrypted_name=name, recipients=sealed,
        )  # fmt: skip
        body = {
            "id": file_id, "sensitivity": "room", "kind": "fact", "size": encrypted.size,
            "sha256": encrypted.sha256, "manifest": manifest.decode(),
            "signature": crypto.sign(sarah.key.keys, manifest),  # type: ignore[union-attr]
            "encrypted_name": name,
            "keys": [{"user_id": u, "sealed_key": s} for u, _, s in sealed],
        }  # fmt: skip
        body.update(change)
        with pytest.raises(ApiError) as caught:
            sarah.api.json("POST", f"/rooms/{room_id}/files", body)
        return caught.value

    assert attempt(size=999).body["error"]["fields"] == {"manifest": "does not match"}
    restricted = attempt(sensitivity="restricted")  # the manifest says "room"
    assert restricted.body["error"]["fields"] == {"manifest": "does not match"}
    assert attempt(signature=fileformat.b64(b"\0" * 64)).body["error"]["fields"] == {
        "signature": "invalid"
    }
    assert attempt(manifest="[" * 5000).status == 422
    assert "signature" in attempt(signature="not base64").body["error"]["fields"]
    assert attempt(id="not-a-uuid").status == 422


def test_a_key_change_is_told_in_every_room_of_the_person_and_old_keys_are_dropped(
    world: World, room_id: str, client: Any, auth: Tokens, app: Caseroom
) -> None:
    """Like a safety-number change. Keys sealed to the old public key are useless and
    deleted; holders re-share (the person is offered to them again)."""
    hana = world(HANA)
    file_id = world.put(SARAH, room_id, b"before the new keys")
    assert hana.api.json("GET", f"/files/{file_id}")["sealed_key"]
    (world.outside / f"{HANA}.key").unlink()  # a forgotten passphrase: new keys
    hana.key = world.publish(hana)
    fingerprint = hana.api.json("GET", "/me/keys")["fingerprint"]
    assert hana.api.json("GET", f"/files/{file_id}")["sealed_key"] is None
    offered = world(SARAH).api.json("GET", f"/files/{file_id}")["offer_to_wrap"]
    assert [o["user"]["id"] for o in offered] == [hana.id]
    rooms = {r["id"] for r in hana.api.json("GET", "/rooms")["items"]}
    assert len(rooms) == 2
    for rid in rooms:
        told = client.get(f"/api/v1/rooms/{rid}/history", headers=auth(SARAH)).json()["items"]
        assert any("encryption keys changed" in e["text"] and fingerprint in e["text"]
                   for e in told), told  # fmt: skip


def test_a_reader_with_new_keys_reads_again_once_a_holder_wraps_the_key_for_them(
    world: World, room_id: str
) -> None:
    """The forgotten-passphrase path end to end: the key wrapped again for Hana differs
    from the one the uploader signed, and that is no sign of tampering. Sarah pinned
    Hana's keys when she put the file: she wraps for the new ones only once she has
    checked them with Hana (tests/test_files_trust.py)."""
    hana = world(HANA)
    file_id = world.put(SARAH, room_id, b"read again after new keys")
    (world.outside / f"{HANA}.key").unlink()
    hana.key = world.publish(hana)
    sarah = world(SARAH)
    assert sarah.key is not None
    with pytest.raises(KeysChanged):
        files.share(sarah.api, file_id, sarah.key, hana.id)
    files.share(sarah.api, file_id, sarah.key, hana.id, accept_new_keys=[hana.id])
    assert world.get(HANA, file_id) == b"read again after new keys"


def test_an_uploaders_new_keys_leave_their_earlier_files_readable(
    world: World, room_id: str
) -> None:
    """A manifest is verified with the key that signed it, not the uploader's newest."""
    world(HANA)
    file_id = world.put(SARAH, room_id, b"signed with the old key")
    sarah = world(SARAH)
    (world.outside / f"{SARAH}.key").unlink()
    sarah.key = world.publish(sarah)
    assert world.get(HANA, file_id) == b"signed with the old key"


def test_a_refused_upload_still_audits_the_list_of_readers_it_answered_with(
    world: World, room_id: str, app: Caseroom
) -> None:
    """409 recipients_changed names the room's readers: that is a read, and it is kept."""
    sarah = world(SARAH)
    assert sarah.key is not None
    with pytest.raises(ApiError) as caught:
        _post_for(world, room_id, str(uuid.uuid4()), [])
    assert caught.value.code == "recipients_changed"
    with app.db.session() as session:
        last = session.exec(
            select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)
        ).one()
    assert (last.action, last.outcome, last.actor_id) == ("list_recipients", "allowed", sarah.id)


def test_the_id_of_someone_elses_file_is_unknown_to_an_uploader(
    world: World, room_id: str, app: Caseroom
) -> None:
    """Dan (school) posting with the id of Pete's restricted file gets what a fresh id in a
    room he may not know of would get: 404, audited; his own pending id is a 409."""
    world(SARAH)
    police = world.put(PETE, room_id, b"police only", sensitivity="restricted")
    dan = world(DAN)
    with pytest.raises(ApiError) as caught:
        _post_for(world, room_id, police, [], who=DAN)
    assert caught.value.status == 404
    with app.db.session() as session:
        last = session.exec(
            select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)
        ).one()
    assert (last.action, last.outcome, last.actor_id, last.resource_id) == (
        "upload_file", "denied", dan.id, police
    )


def _post_for(
    world: World, room_id: str, file_id: str, people: list[tuple[str, str]], who: str = SARAH
) -> Any:
    import io

    person = world(who)
    assert person.key is not None
    encrypted = crypto.encrypt_stream(io.BytesIO(b"hello"), io.BytesIO(), room_id, file_id)
    name = crypto.encrypt_name(encrypted.key, "note.txt", "text/plain", room_id, file_id)
    return files._post(person.api, in_room(room_id), file_id, person.key, "room", "fact", encrypted,
                       name, people)  # fmt: skip


def test_someone_removed_and_let_back_in_is_a_newer_member_for_earlier_files(
    world: World, room_id: str, client: Any, auth: Tokens, app: Caseroom
) -> None:
    """Dan was in the room at upload without keys; removed, then added again, he is not
    offered to holders, and the lead's share with him is a recorded sharing decision."""
    file_id = world.put(SARAH, room_id, b"before dan was removed")
    dan_id = user_by_email(app, DAN).id
    removed = client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{dan_id}", headers=auth(SARAH), json=REMOVAL
    )
    assert removed.status_code == 204, removed.text
    add_member(client, auth, room_id, DAN)
    dan = world(DAN)
    sarah = world(SARAH)
    assert sarah.key is not None
    assert sarah.api.json("GET", f"/files/{file_id}")["offer_to_wrap"] == []
    with app.db.session() as session:
        before = len(session.exec(select(SharingDecision)).all())
    files.share(sarah.api, file_id, sarah.key, dan.id, REASONS)
    with app.db.session() as session:
        assert len(session.exec(select(SharingDecision)).all()) == before + 1
    assert world.get(DAN, file_id) == b"before dan was removed"


def test_an_outsider_asking_for_recipients_learns_nothing_from_a_bad_filter(
    client: Any, auth: Tokens, room_id: str
) -> None:
    """The room is decided first: Omar gets 404 (audited) whatever the sensitivity says."""
    for sensitivity in ("room", "bogus"):
        answer = client.get(
            f"/api/v1/rooms/{room_id}/recipients?sensitivity={sensitivity}", headers=auth(OMAR)
        )
        assert answer.status_code == 404, answer.text
    bad = client.get(f"/api/v1/rooms/{room_id}/recipients?sensitivity=bogus", headers=auth(SARAH))
    assert bad.status_code == 422
