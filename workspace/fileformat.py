"""The format of end-to-end encrypted files, shared by the server (which checks what it
can without keys) and every client (docs/file-format.md says it in words).

Nothing here encrypts: the server never holds a key. It fixes the names, sizes and the one
canonical JSON form of the manifest, so a browser and the Python client produce the same
bytes and the uploader's Ed25519 signature covers exactly what the server stores.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

VERSION = 1
CHUNK_SIZE = 64 * 1024  # plaintext bytes per secretstream message
STREAM_ABYTES = 17  # crypto_secretstream_xchacha20poly1305_ABYTES
HEADER_BYTES = 24  # crypto_secretstream_xchacha20poly1305_HEADERBYTES
KEY_BYTES = 32
SEALED_KEY_BYTES = 32 + 48  # crypto_box_SEALBYTES + the file key
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SALT_BYTES = 16  # crypto_pwhash_SALTBYTES
NAME_NONCE_BYTES = 24  # crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
# Below libsodium's "interactive" Argon2id limits a stolen sealed key falls too easily.
MIN_OPSLIMIT = 2
MIN_MEMLIMIT = 64 * 1024 * 1024
MAX_MEMLIMIT = 4 * 1024 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


def b64(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), as the API contract says."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, size: int | None = None) -> bytes:
    """Strict decoding: anything but canonical standard base64 (of `size` bytes) is refused."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("must be standard base64 with padding") from exc
    if b64(data) != text:
        raise ValueError("must be standard base64 with padding")
    if size is not None and len(data) != size:
        raise ValueError(f"must be {size} bytes")
    return data


def is_sha256_hex(text: str) -> bool:
    return bool(_HEX64.fullmatch(text))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def associated_data(room_id: str, file_id: str) -> bytes:
    """Bound to every chunk and to the encrypted name: a chunk or name cannot be moved to
    another file or room without failing authentication."""
    return f"{room_id}|{file_id}".encode()


def ciphertext_size(plaintext_size: int) -> int:
    """Every chunk carries a 17-byte tag; an empty file is one empty, final chunk."""
    chunks = max(1, -(-plaintext_size // CHUNK_SIZE))
    return plaintext_size + chunks * STREAM_ABYTES


def plaintext_size(ciphertext: int) -> int:
    """The inverse of `ciphertext_size`: what the person shared (for showing sizes)."""
    chunks = max(1, -(-ciphertext // (CHUNK_SIZE + STREAM_ABYTES)))
    return max(0, ciphertext - chunks * STREAM_ABYTES)


def canonical_json(value: dict[str, Any]) -> bytes:
    """Keys sorted, no whitespace, ASCII only; values are strings of ASCII, non-negative
    integers, lists and objects (never floats), so `JSON.stringify` of an object built
    with sorted keys gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def manifest(
    *,
    room_id: str,
    file_id: str,
    uploader_id: str,
    sensitivity: str,
    header: bytes,
    size: int,
    sha256: str,
    encrypted_name: str,
    recipients: list[tuple[str, str, str]],
) -> bytes:
    """The signed manifest. `recipients`: (user_id, box_public, sealed_key), all base64."""
    return canonical_json(
        {
            "v": VERSION,
            "room_id": room_id,
            "file_id": file_id,
            "uploader_id": uploader_id,
            "sensitivity": sensitivity,
            "header": b64(header),
            "chunk_size": CHUNK_SIZE,
            "size": size,
            "sha256": sha256,
            "name_sha256": sha256_hex(unb64(encrypted_name)),
            "recipients": [
                {
                    "user_id": user_id,
                    "box_public": box_public,
                    "sealed_key_sha256": sha256_hex(unb64(sealed_key)),
                }
                for user_id, box_public, sealed_key in sorted(recipients)
            ],
        }
    )


def fingerprint(box_public: bytes, sign_public: bytes) -> str:
    """What people compare to know they hold each other's real keys: the first 20 bytes of
    sha256(box public || sign public), as 10 groups of 4 hex digits."""
    digest = hashlib.sha256(box_public + sign_public).hexdigest()[:40]
    return " ".join(digest[i : i + 4] for i in range(0, 40, 4))
