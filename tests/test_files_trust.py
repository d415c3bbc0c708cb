"""Trust on first use of people's keys in the Python client (docs/file-format.md §7): the
server hands out public keys, so a server that lied about them could have a file key
wrapped for itself, or pass off a file it signed as someone's. The client pins each
person's fingerprint, computed from the keys themselves, in `<keyfile>.known.json`, and
stops when they change until its user accepts the new ones (`--accept-new-keys`)."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest
from sqlmodel import func, select

from tests.conftest import DAN, HANA, SARAH, Tokens
from tests.test_chat_sockets import jamie
from tests.test_files import World
from workspace import fileformat
from workspace.client import crypto, files
from workspace.client.crypto import KeyPair
from workspace.client.known import KeysChanged, NotYourKeys
from workspace.models import EncryptedFile, SealedKey, UserKeys
from workspace.state import Caseroom


@pytest.fixture
def room_id(client: Any, auth: Tokens) -> str:
    return jamie(client, auth)


def key_of(world: World, email: str) -> files.KeyFile:
    key = world(email).key
    assert key is not None
    return key


def known_file(world: World, email: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world.outside / f"{email}.key.known.json").read_text())
    return data


def the_server_swaps_keys(app: Caseroom, user_id: str, *, fingerprint_too: bool) -> KeyPair:
    """What someone who controls the server (or its database) would do to read the next
    file: hand out keys of their own as someone's. `fingerprint_too=False` leaves the
    server's `fingerprint` field claiming the old keys."""
    mallory = KeyPair.generate()
    with app.db.session() as session:
        keys = session.get(UserKeys, user_id)
        assert keys is not None
        keys.box_public = fileformat.b64(mallory.box_public)
        keys.sign_public = fileformat.b64(mallory.sign_public)
        if fingerprint_too:
            keys.fingerprint = fileformat.fingerprint(mallory.box_public, mallory.sign_public)
        session.add(keys)
        session.commit()
    return mallory


def file_count(app: Caseroom) -> int:
    with app.db.session() as session:
        return int(session.exec(select(func.count()).select_from(EncryptedFile)).one())


# --- the known-keys file ----------------------------------------------------------------------


def test_the_first_upload_pins_each_recipient_beside_the_key_file_mode_0600(
    world: World, room_id: str
) -> None:
    hana = world(HANA)
    world.put(SARAH, room_id, b"first")
    path = world.outside / f"{SARAH}.key.known.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pinned = known_file(world, SARAH)["pinned"]
    # Computed from the keys: what Hana's own key file says, and what she would read out.
    assert pinned[hana.id] == key_of(world, HANA).fingerprint
    assert pinned[hana.id] == hana.api.json("GET", "/me/keys")["fingerprint"]
    assert pinned[world(SARAH).id] == key_of(world, SARAH).fingerprint  # by keys init


# --- putting: a recipient's keys --------------------------------------------------------------


def test_a_recipient_whose_keys_the_server_swapped_gets_no_file_key(
    world: World, room_id: str, app: Caseroom
) -> None:
    """The server even claims the old fingerprint: the client does not ask it, it computes."""
    hana = world(HANA)
    world.put(SARAH, room_id, b"first")
    pinned = key_of(world, HANA).fingerprint
    mallory = the_server_swaps_keys(app, hana.id, fingerprint_too=False)
    listed = world(SARAH).api.json("GET", f"/rooms/{room_id}/recipients?sensitivity=room")
    assert next(r for r in listed["items"] if r["user"]["id"] == hana.id)["fingerprint"] == pinned
    before = file_count(app)
    with pytest.raises(KeysChanged) as caught:
        world.put(SARAH, room_id, b"second")
    seen = fileformat.fingerprint(mallory.box_public, mallory.sign_public)
    assert (caught.value.user_id, caught.value.pinned, caught.value.seen) == (hana.id, pinned, seen)
    message = str(caught.value)
    assert "Hana Kowalski" in message and pinned in message and seen in message
    assert f"--accept-new-keys {hana.id}" in message
    assert file_count(app) == before  # nothing was declared, nothing sealed
    assert known_file(world, SARAH)["pinned"][hana.id] == pinned


def test_keys_someone_really_changed_are_accepted_by_name_and_pinned_anew(
    world: World, room_id: str
) -> None:
    hana = world(HANA)
    world.put(SARAH, room_id, b"before")
    old = key_of(world, HANA).fingerprint
    (world.outside / f"{HANA}.key").unlink()  # a forgotten passphrase: new keys
    hana.key = world.publish(hana)
    with pytest.raises(KeysChanged):
        world.put(SARAH, room_id, b"after")
    file_id = world.put(SARAH, room_id, b"after", accept_new_keys=[hana.id])
    assert world.get(HANA, file_id) == b"after"
    known = known_file(world, SARAH)
    assert known["pinned"][hana.id] == hana.key.fingerprint
    assert known["earlier"][hana.id] == [old]
    world.put(SARAH, room_id, b"and again")  # no flag needed any more


def test_accepting_one_person_accepts_nobody_else(
    world: World, room_id: str, app: Caseroom
) -> None:
    hana, dan = world(HANA), world(DAN)
    world.put(SARAH, room_id, b"first")
    the_server_swaps_keys(app, hana.id, fingerprint_too=True)
    with pytest.raises(KeysChanged) as caught:
        world.put(SARAH, room_id, b"second", accept_new_keys=[dan.id])
    assert caught.value.user_id == hana.id


def test_the_server_handing_out_other_keys_for_the_uploader_stops_the_upload(
    world: World, room_id: str, app: Caseroom
) -> None:
    """One's own keys are not pinned on trust: they are those of one's key file."""
    world(HANA)
    sarah = world(SARAH)
    the_server_swaps_keys(app, sarah.id, fingerprint_too=True)
    with pytest.raises(NotYourKeys, match="not those of"):
        world.put(SARAH, room_id, b"mine", accept_new_keys=[sarah.id])


def test_a_damaged_known_keys_file_is_not_started_afresh(world: World, room_id: str) -> None:
    world(HANA)
    world.put(SARAH, room_id, b"first")
    path = world.outside / f"{SARAH}.key.known.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="known-keys"):
        world.put(SARAH, room_id, b"second")
    assert path.read_text() == "[]"


# --- getting: the uploader's signing key ------------------------------------------------------


def test_a_file_the_server_signed_in_someones_name_is_refused(
    world: World, room_id: str, app: Caseroom
) -> None:
    """Hana has pinned Sarah's keys (as a recipient of her own upload). The server signs a
    manifest with a key of its own and says it is Sarah's: it verifies, yet the key is not
    the one Hana pinned for Sarah, so nothing is written."""
    world(SARAH)
    world.put(HANA, room_id, b"Hana's")
    file_id = world.put(SARAH, room_id, b"Sarah's")
    mallory = KeyPair.generate()
    with app.db.session() as session:
        stored = session.get(EncryptedFile, file_id)
        assert stored is not None
        stored.sign_public = fileformat.b64(mallory.sign_public)
        stored.signature = crypto.sign(mallory, stored.manifest.encode())
        session.add(stored)
        session.commit()
    hana = world(HANA)
    out = world.outside / "forged.out"
    with pytest.raises(KeysChanged) as caught:
        files.get(hana.api, file_id, key_of(world, HANA), out)
    assert caught.value.user_id == world(SARAH).id and "Sarah Okafor" in str(caught.value)
    assert not out.exists()


def test_a_reader_pins_the_uploader_on_first_sight_and_accepts_a_change_once(
    world: World, room_id: str
) -> None:
    """After the change is accepted, files the old keys signed still open: the pin moved,
    the old fingerprint is kept as an earlier one (good for what it signed, not for
    wrapping new file keys)."""
    world(HANA)
    earlier = world.put(SARAH, room_id, b"signed with the old keys")
    assert world.get(HANA, earlier) == b"signed with the old keys"
    assert known_file(world, HANA)["pinned"][world(SARAH).id] == key_of(world, SARAH).fingerprint
    sarah = world(SARAH)
    (world.outside / f"{SARAH}.key").unlink()
    sarah.key = world.publish(sarah)
    later = world.put(SARAH, room_id, b"signed with the new keys")
    with pytest.raises(KeysChanged):
        world.get(HANA, later)
    hana = world(HANA)
    out = world.outside / "later.out"
    files.get(hana.api, later, key_of(world, HANA), out, accept_new_keys=[sarah.id])
    assert out.read_bytes() == b"signed with the new keys"
    assert world.get(HANA, earlier) == b"signed with the old keys"
    world.put(HANA, room_id, b"to Sarah's new keys")  # pinned: her current keys


# --- sharing later ----------------------------------------------------------------------------


def test_a_key_is_not_wrapped_for_keys_other_than_the_pinned_ones(
    world: World, room_id: str, app: Caseroom
) -> None:
    """Dan had no keys when Sarah put the file; Hana, a holder, pinned his keys since (on
    her own upload). The server then hands out other keys as Dan's: Hana wraps nothing."""
    dan = world(DAN, keys=False)
    world(HANA)
    file_id = world.put(SARAH, room_id, b"for the room")
    dan.key = world.publish(dan)
    world.put(HANA, room_id, b"Hana's own")
    the_server_swaps_keys(app, dan.id, fingerprint_too=True)
    hana = world(HANA)
    with pytest.raises(KeysChanged) as caught:
        files.share(hana.api, file_id, key_of(world, HANA), dan.id)
    assert caught.value.user_id == dan.id
    with app.db.session() as session:
        assert session.get(SealedKey, (file_id, dan.id)) is None
