"""The client's cryptography, on PyNaCl (libsodium), byte for byte the format of
docs/file-format.md. This module and workspace/crypto.py are the only importers of nacl:
this one holds the keys of a person (it runs on their machine), the server's holds none."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash
import nacl.signing
import nacl.utils

from workspace import fileformat
from workspace.fileformat import b64, unb64

# libsodium's "interactive" Argon2id limits: the least the server accepts.
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_CIPHER_CHUNK = fileformat.CHUNK_SIZE + fileformat.STREAM_ABYTES


class Tampered(Exception):
    """A download did not verify: the manifest, its signature, a chunk or the hash."""


@dataclass(frozen=True)
class KeyPair:
    """A person's private keys: X25519 for unwrapping file keys, Ed25519 for signing."""

    box_secret: bytes
    sign_seed: bytes

    @property
    def box_public(self) -> bytes:
        return sodium.crypto_scalarmult_base(self.box_secret)

    @property
    def signing(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.sign_seed)

    @property
    def sign_public(self) -> bytes:
        return bytes(self.signing.verify_key)

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(nacl.utils.random(32), nacl.utils.random(32))


@dataclass(frozen=True)
class Sealed:
    """Private keys sealed under a passphrase, as PUT /me/keys takes them."""

    sealed_private: str
    salt: str
    opslimit: int
    memlimit: int


def _passphrase_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        fileformat.KEY_BYTES, passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit
    )


def seal_private(
    keys: KeyPair, passphrase: str, opslimit: int = OPSLIMIT, memlimit: int = MEMLIMIT
) -> Sealed:
    """nonce(24) || XChaCha20-Poly1305(box secret || sign seed), keyed by Argon2id of the
    passphrase, with both public keys as associated data (a swapped public key fails)."""
    salt = nacl.utils.random(fileformat.SALT_BYTES)
    key = _passphrase_key(passphrase, salt, opslimit, memlimit)
    nonce = nacl.utils.random(fileformat.NAME_NONCE_BYTES)
    box = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        keys.box_secret + keys.sign_seed, keys.box_public + keys.sign_public, nonce, key
    )
    return Sealed(b64(nonce + box), b64(salt), opslimit, memlimit)


def open_private(
    sealed: Sealed, passphrase: str, box_public: bytes, sign_public: bytes
) -> KeyPair:
    raw = unb64(sealed.sealed_private)
    key = _passphrase_key(passphrase, unb64(sealed.salt), sealed.opslimit, sealed.memlimit)
    try:
        secret = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            raw[24:], box_public + sign_public, raw[:24], key
        )
    except nacl.exceptions.CryptoError as exc:
        raise ValueError("Wrong passphrase, or the sealed keys were changed.") from exc
    return KeyPair(secret[:32], secret[32:])


# --- files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Encrypted:
    key: bytes
    header: bytes
    size: int  # of the ciphertext
    sha256: str


def encrypt_stream(src: BinaryIO, out: BinaryIO, room_id: str, file_id: str) -> Encrypted:
    """64 KiB plaintext chunks, each pushed with the associated data `room_id|file_id`;
    the last (possibly empty) chunk is tagged FINAL. The header is not written to `out`:
    it travels in the manifest."""
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    ad = fileformat.associated_data(room_id, file_id)
    digest = hashlib.sha256()
    size = 0
    chunk = src.read(fileformat.CHUNK_SIZE)
    while True:
        following = src.read(fileformat.CHUNK_SIZE) if chunk else b""
        last = not following
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
            state, chunk, ad, _TAG_FINAL if last else _TAG_MESSAGE
        )
        out.write(sealed)
        digest.update(sealed)
        size += len(sealed)
        if last:
            return Encrypted(key, header, size, digest.hexdigest())
        chunk = following


def decrypt_stream(
    body: Iterable[bytes], out: BinaryIO, key: bytes, manifest: dict[str, object]
) -> None:
    """Pull every chunk (authenticated, in order, bound to this room and file), check that
    the stream ends exactly at the FINAL chunk and that size and sha256 are the manifest's."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(
            state, unb64(str(manifest["header"])), key
        )
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise Tampered("the stream header is not valid for this key") from exc
    ad = fileformat.associated_data(str(manifest["room_id"]), str(manifest["file_id"]))
    digest = hashlib.sha256()
    size = 0
    finished = False
    for chunk in _rechunk(body, _CIPHER_CHUNK):
        if finished:
            raise Tampered("there is data after the final chunk")
        digest.update(chunk)
        size += len(chunk)
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad)
        except nacl.exceptions.CryptoError as exc:
            raise Tampered(f"a chunk failed authentication (at byte {size - len(chunk)})") from exc
        out.write(plain)
        finished = tag == _TAG_FINAL
    if not finished:
        raise Tampered("the file was cut short (no final chunk)")
    if size != manifest["size"] or digest.hexdigest() != manifest["sha256"]:
        raise Tampered("the ciphertext's size or sha256 is not the manifest's")


def _rechunk(body: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in body:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def encrypt_name(key: bytes, name: str, media_type: str, room_id: str, file_id: str) -> str:
    """nonce(24) || XChaCha20-Poly1305 of {"name","type"} (canonical JSON), same AD."""
    nonce = nacl.utils.random(fileformat.NAME_NONCE_BYTES)
    plain = fileformat.canonical_json({"name": name, "type": media_type})
    box = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, fileformat.associated_data(room_id, file_id), nonce, key
    )
    return b64(nonce + box)


def decrypt_name(key: bytes, encrypted: str, room_id: str, file_id: str) -> tuple[str, str]:
    raw = unb64(encrypted)
    try:
        plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            raw[24:], fileformat.associated_data(room_id, file_id), raw[:24], key
        )
    except nacl.exceptions.CryptoError as exc:
        raise Tampered("the file's name failed authentication") from exc
    value = json.loads(plain)
    return str(value["name"]), str(value["type"])


def seal_key(file_key: bytes, box_public: str) -> str:
    return b64(sodium.crypto_box_seal(file_key, unb64(box_public, fileformat.PUBLIC_KEY_BYTES)))


def open_key(keys: KeyPair, sealed_key: str) -> bytes:
    try:
        return sodium.crypto_box_seal_open(unb64(sealed_key), keys.box_public, keys.box_secret)
    except nacl.exceptions.CryptoError as exc:
        raise Tampered("your sealed key does not open with your private key") from exc


def sign(keys: KeyPair, message: bytes) -> str:
    return b64(keys.signing.sign(message).signature)


def verify(sign_public: str, message: bytes, signature: str) -> None:
    try:
        nacl.signing.VerifyKey(unb64(sign_public)).verify(message, unb64(signature))
    except (nacl.exceptions.BadSignatureError, ValueError) as exc:
        raise Tampered("the manifest's signature does not verify") from exc
