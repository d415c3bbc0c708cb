"""What the client commands do: make and publish keys, put a file (encrypt, wrap for
exactly the recipients the server's policy names, sign, upload), get one (verify the
manifest and every chunk; a failure is reported to the server) and list a room's files."""

from __future__ import annotations

import json
import mimetypes
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace import fileformat
from workspace.client import crypto
from workspace.client.crypto import KeyPair, Tampered
from workspace.client.http import Api, ApiError
from workspace.fileformat import b64, unb64


@dataclass(frozen=True)
class KeyFile:
    user_id: str
    keys: KeyPair

    def write(self, path: Path) -> None:
        """Mode 0600 from the moment it exists; never overwrites a key file."""
        text = json.dumps({
            "v": 1, "user_id": self.user_id,
            "box_public": b64(self.keys.box_public), "sign_public": b64(self.keys.sign_public),
            "box_secret": b64(self.keys.box_secret), "sign_seed": b64(self.keys.sign_seed),
        }, indent=2)  # fmt: skip
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")

    @classmethod
    def read(cls, path: Path) -> KeyFile:
        data = json.loads(path.read_text())
        return cls(str(data["user_id"]), KeyPair(unb64(data["box_secret"], 32),
                                                  unb64(data["sign_seed"], 32)))  # fmt: skip


def keys_init(api: Api, path: Path, passphrase: str) -> KeyFile:
    if path.exists():
        raise FileExistsError(f"{path} exists: it may hold keys you need. Choose another file.")
    if len(passphrase) < 12:
        raise ValueError("Choose a passphrase of at least 12 characters.")
    me = api.json("GET", "/me")
    keys = KeyPair.generate()
    sealed = crypto.seal_private(keys, passphrase)
    key_file = KeyFile(str(me["id"]), keys)
    key_file.write(path)
    api.json("PUT", "/me/keys", {
        "box_public": b64(keys.box_public), "sign_public": b64(keys.sign_public),
        "sealed_private": sealed.sealed_private,
        "kdf": {"salt": sealed.salt, "opslimit": sealed.opslimit, "memlimit": sealed.memlimit},
    })  # fmt: skip
    return key_file


def put(
    api: Api, room_id: str, path: Path, key_file: KeyFile, sensitivity: str = "room",
    kind: str = "fact",
) -> str:  # fmt: skip
    file_id = str(uuid.uuid4())
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with tempfile.TemporaryFile() as spool:
        with path.open("rb") as src:
            encrypted = crypto.encrypt_stream(src, spool, room_id, file_id)
        name = crypto.encrypt_name(encrypted.key, path.name, media_type, room_id, file_id)
        listed = api.json("GET", f"/rooms/{room_id}/recipients?sensitivity={sensitivity}")
        people = [(r["user"]["id"], r["box_public"]) for r in listed["items"]]
        for _attempt in range(3):
            try:
                _post(api, room_id, file_id, key_file, sensitivity, kind, encrypted, name, people)
                break
            except ApiError as exc:
                if exc.code != "recipients_changed":
                    raise
                people = [(r["user"]["id"], r["box_public"]) for r in exc.body["recipients"]]
        else:
            raise RuntimeError("The room's members kept changing; try again.")
        spool.seek(0)
        api.upload(f"/files/{file_id}/content", spool, encrypted.size)
    return file_id


def _post(
    api: Api, room_id: str, file_id: str, key_file: KeyFile, sensitivity: str, kind: str,
    encrypted: crypto.Encrypted, name: str, people: list[tuple[str, str]],
) -> None:  # fmt: skip
    sealed = [(user_id, box, crypto.seal_key(encrypted.key, box)) for user_id, box in people]
    manifest = fileformat.manifest(
        room_id=room_id, file_id=file_id, uploader_id=key_file.user_id,
        sensitivity=sensitivity, header=encrypted.header, size=encrypted.size,
        sha256=encrypted.sha256, encrypted_name=name, recipients=sealed,
    )  # fmt: skip
    api.json("POST", f"/rooms/{room_id}/files", {
        "id": file_id, "sensitivity": sensitivity, "kind": kind, "size": encrypted.size,
        "sha256": encrypted.sha256, "manifest": manifest.decode(),
        "signature": crypto.sign(key_file.keys, manifest), "encrypted_name": name,
        "keys": [{"user_id": u, "sealed_key": s} for u, _, s in sealed],
    })  # fmt: skip


def get(api: Api, file_id: str, key_file: KeyFile, out: Path) -> str:
    """Writes the plaintext to `out` only once every check has passed; returns its name."""
    meta = api.json("GET", f"/files/{file_id}")
    try:
        manifest = _verified_manifest(meta, file_id, key_file)
        if not meta.get("sealed_key"):
            raise PermissionError(
                "You hold no key to this file yet: ask someone who has it to share it."
            )
        key = crypto.open_key(key_file.keys, meta["sealed_key"])
        name, _type = crypto.decrypt_name(key, meta["encrypted_name"], meta["room_id"], file_id)
        fd, temp = tempfile.mkstemp(dir=out.parent or Path("."), prefix=".caseroom-")
        try:
            with os.fdopen(fd, "wb") as sink:
                crypto.decrypt_stream(api.download(f"/files/{file_id}/content"), sink, key,
                                      manifest)  # fmt: skip
            os.replace(temp, out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except Tampered as exc:
        api.json("POST", f"/files/{file_id}/tampered", {"reason": str(exc)[:200]})
        raise
    return name


def _verified_manifest(meta: dict[str, Any], file_id: str, key_file: KeyFile) -> dict[str, Any]:
    """The uploader signed the manifest; it names this file and room, the ciphertext's size
    and hash, the name, and (if it was sealed at upload) the hash of our sealed key."""
    raw = str(meta["manifest"]).encode()
    if not meta.get("uploader_sign_public"):
        raise Tampered("the uploader has no signing key")
    crypto.verify(meta["uploader_sign_public"], raw, meta["signature"])
    manifest: dict[str, Any] = json.loads(raw)
    if fileformat.canonical_json(manifest) != raw:
        raise Tampered("the manifest is not in its canonical form")
    expected = {
        "v": fileformat.VERSION, "file_id": file_id, "room_id": meta["room_id"],
        "uploader_id": meta["uploader"]["id"], "chunk_size": fileformat.CHUNK_SIZE,
        "size": meta["size"], "sha256": meta["sha256"],
        "name_sha256": fileformat.sha256_hex(unb64(meta["encrypted_name"])),
    }  # fmt: skip
    wrong = [k for k, v in expected.items() if manifest.get(k) != v]
    if wrong:
        raise Tampered(f"the manifest does not match the file ({', '.join(wrong)})")
    # The reader's sealed key is not compared with the one the uploader signed: a key
    # wrapped again later (new keys after a forgotten passphrase, a member let back in)
    # rightly differs, and a key that is not this file's cannot open the stream, whose
    # header and ciphertext hash the uploader signed (every chunk is authenticated).
    return manifest


def list_files(api: Api, room_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = api.json("GET", f"/rooms/{room_id}/files?limit=200" + (
            f"&cursor={cursor}" if cursor else ""))  # fmt: skip
        out.extend(page["items"])
        if not page["next"]:
            return out
        cursor = page["next"]


def share(
    api: Api, file_id: str, key_file: KeyFile, user_id: str,
    reasons: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Wrap a file key we hold for someone else (after checking the file's manifest). For
    someone entitled at upload who had no keys then, no reasons are needed; the lead's
    share with a guest or a newer member is a sharing decision and needs `reasons`
    (purpose, lawful_basis, consent, consent_reason)."""
    meta = api.json("GET", f"/files/{file_id}")
    _verified_manifest(meta, file_id, key_file)
    if not meta.get("sealed_key"):
        raise PermissionError("You hold no key to this file, so you cannot share it.")
    key = crypto.open_key(key_file.keys, meta["sealed_key"])
    theirs = api.json("GET", f"/users/{user_id}/keys")
    sealed = crypto.seal_key(key, theirs["box_public"])
    api.json("POST", f"/files/{file_id}/keys", {
        "keys": [{"user_id": user_id, "sealed_key": sealed}], **(reasons or {}),
    })  # fmt: skip
