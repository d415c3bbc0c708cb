"""docs/file-format.md is enough to write a client: a reader written here from the document
alone (libsodium calls only, nothing of workspace/client/) opens what the Python client
writes, and the manifest's canonical bytes are exactly the ones the document shows."""

from __future__ import annotations

import hashlib
import io
import json

import nacl.bindings as sodium
import nacl.signing
import pytest

from workspace import fileformat
from workspace.client import crypto

ROOM, FILE = "2b1f0c4e-0000-4000-8000-000000000001", "9d8e7f6a-0000-4000-8000-000000000002"


def read_as_the_document_says(ciphertext: bytes, key: bytes, header: bytes) -> bytes:
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    ad = f"{ROOM}|{FILE}".encode()
    out, tags = b"", []
    for at in range(0, len(ciphertext), 65536 + 17):
        plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
            state, ciphertext[at : at + 65536 + 17], ad
        )
        out += plain
        tags.append(tag)
    assert tags == [0] * (len(tags) - 1) + [3]
    return out


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 5])
def test_a_reader_written_from_the_document_opens_the_clients_files(size: int) -> None:
    plain = bytes(i % 251 for i in range(size))
    out = io.BytesIO()
    encrypted = crypto.encrypt_stream(io.BytesIO(plain), out, ROOM, FILE)
    ciphertext = out.getvalue()
    assert len(ciphertext) == encrypted.size == fileformat.ciphertext_size(size)
    assert encrypted.sha256 == hashlib.sha256(ciphertext).hexdigest()
    assert read_as_the_document_says(ciphertext, encrypted.key, encrypted.header) == plain


def test_names_keys_and_passphrase_sealing_as_documented() -> None:
    keys = crypto.KeyPair.generate()
    file_key = bytes(range(32))
    name = fileformat.unb64(crypto.encrypt_name(file_key, "ä.pdf", "application/pdf", ROOM, FILE))
    opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        name[24:], f"{ROOM}|{FILE}".encode(), name[:24], file_key
    )
    assert opened == b'{"name":"\\u00e4.pdf","type":"application/pdf"}'
    sealed = fileformat.unb64(crypto.seal_key(file_key, fileformat.b64(keys.box_public)))
    assert len(sealed) == 80
    assert sodium.crypto_box_seal_open(sealed, keys.box_public, keys.box_secret) == file_key
    locked = crypto.seal_private(keys, "a passphrase of some length")
    raw = fileformat.unb64(locked.sealed_private)
    assert len(raw) == 104
    derived = sodium.crypto_pwhash_alg(
        32, b"a passphrase of some length", fileformat.unb64(locked.salt),
        locked.opslimit, locked.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13,
    )  # fmt: skip
    secret = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        raw[24:], keys.box_public + keys.sign_public, raw[:24], derived
    )
    assert secret == keys.box_secret + keys.sign_seed


def test_the_manifest_is_canonical_json_signed_with_ed25519() -> None:
    sealed = fileformat.b64(b"\1" * 80)
    manifest = fileformat.manifest(
        room_id=ROOM, file_id=FILE, uploader_id="u-2", sensitivity="room",
        header=b"\0" * 24, size=123, sha256="ab" * 32, encrypted_name=fileformat.b64(b"n"),
        recipients=[("u-2", "B" * 43 + "=", sealed), ("u-1", "A" * 43 + "=", sealed)],
    )  # fmt: skip
    sealed_sha = hashlib.sha256(b"\1" * 80).hexdigest()
    expected = (
        '{"chunk_size":65536,"file_id":"' + FILE + '","header":"' + "A" * 32 + '",'
        '"name_sha256":"' + hashlib.sha256(b"n").hexdigest() + '","recipients":['
        '{"box_public":"' + "A" * 43 + '=","sealed_key_sha256":"' + sealed_sha + '",'
        '"user_id":"u-1"},{"box_public":"' + "B" * 43 + '=","sealed_key_sha256":"'
        + sealed_sha + '","user_id":"u-2"}],"room_id":"' + ROOM + '","sensitivity":"room",'
        '"sha256":"' + "ab" * 32 + '","size":123,"uploader_id":"u-2","v":1}'
    )
    assert manifest.decode() == expected
    assert json.loads(manifest) and fileformat.canonical_json(json.loads(manifest)) == manifest
    keys = crypto.KeyPair.generate()
    signature = fileformat.unb64(crypto.sign(keys, manifest))
    nacl.signing.VerifyKey(keys.sign_public).verify(manifest, signature)


def test_base64_is_standard_with_padding_and_nothing_else() -> None:
    assert fileformat.unb64("AAE=") == b"\0\1"
    for wrong in ("AAE", "AA-=", "AA_=", " AAE=", "AAE=\n"):
        with pytest.raises(ValueError):
            fileformat.unb64(wrong)


def test_the_fingerprint_is_ten_groups_of_four_hex_digits() -> None:
    digest = hashlib.sha256(b"\1" * 32 + b"\2" * 32).hexdigest()[:40]
    expected = " ".join(digest[i : i + 4] for i in range(0, 40, 4))
    assert fileformat.fingerprint(b"\1" * 32, b"\2" * 32) == expected
