"""What the client commands do: make and publish keys, put a file (encrypt, wrap for
exactly the recipients the server's policy names, sign, upload), get one (verify the
manifest and every chunk; a failure is reported to the server) and list a room's files.
Other people's keys are trusted on first use and checked every time after
(workspace/client/known.py)."""

from __future__ import annotations

import json
import mimetypes
import os
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace import fileformat
from workspace.client import crypto
from workspace.client.crypto import KeyPair, Tampered
from workspace.client.http import Api, ApiError
from workspace.client.known import KnownKeys, NotYourKeys, fingerprint_of
from workspace.fileformat import b64, unb64


@dataclass(frozen=True)
class KeyFile:
    user_id: str
    keys: KeyPair
    path: Path

    @property
    def fingerprint(self) -> str:
        return fileformat.fingerprint(self.keys.box_public, self.keys.sign_public)

    def known(self, accept: Iterable[str] = ()) -> KnownKeys:
        """The fingerprints this person has pinned for others, kept beside the key file."""
        return KnownKeys.beside(self.path, accept)

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
                                                  unb64(data["sign_seed"], 32)), path)  # fmt: skip


def keys_init(api: Api, path: Path, passphrase: str) -> KeyFile:
    if path.exists():
        raise FileExistsError(f"{path} exists: it may hold keys you need. Choose another file.")
    if len(passphrase) < 12:
        raise ValueError("Choose a passphrase of at least 12 characters.")
    me = api.json("GET", "/me")
    keys = KeyPair.generate()
    sealed = crypto.seal_private(keys, passphrase)
    key_file = KeyFile(str(me["id"]), keys, path)
    known = key_file.known()  # read first: a damaged one stops us before anything is made
    key_file.write(path)
    # Pinned like anyone's, so one's own earlier keys stay good for the files they signed.
    known.pin(key_file.user_id, key_file.fingerprint)
    known.save()
    api.json("PUT", "/me/keys", {
        "box_public": b64(keys.box_public), "sign_public": b64(keys.sign_public),
        "sealed_private": sealed.sealed_private,
        "kdf": {"salt": sealed.salt, "opslimit": sealed.opslimit, "memlimit": sealed.memlimit},
    })  # fmt: skip
    return key_file


@dataclass(frozen=True)
class Scope:
    """Where a file is shared, and what its manifest and chunks are bound to: a room (its
    files), or a concern (its photos, bound to the contact's id: issue #14)."""

    id: str
    recipients: str  # the path that names whom to seal the key to
    create: str  # the path that takes the metadata
    items: str  # "/files" or "/photos": the file's own paths

    @classmethod
    def room(cls, room_id: str, sensitivity: str) -> Scope:
        return cls(room_id, f"/rooms/{room_id}/recipients?sensitivity={sensitivity}",
                   f"/rooms/{room_id}/files", "/files")  # fmt: skip

    @classmethod
    def concern(cls, contact_id: str) -> Scope:
        return cls(contact_id, f"/concerns/{contact_id}/recipients",
                   f"/concerns/{contact_id}/photos", "/photos")  # fmt: skip


def put(
    api: Api, room_id: str, path: Path, key_file: KeyFile, sensitivity: str = "room",
    kind: str = "fact", accept_new_keys: Iterable[str] = (),
) -> str:  # fmt: skip
    """`accept_new_keys`: user ids whose changed keys the caller has checked with them
    (they are pinned anew); anyone else's changed keys stop the upload (KeysChanged)."""
    return put_in(api, Scope.room(room_id, sensitivity), path, key_file, sensitivity, kind,
                  accept_new_keys)  # fmt: skip


def put_photo(
    api: Api, contact_id: str, path: Path, key_file: KeyFile, sensitivity: str = "room"
) -> str:
    """A photo on the concern the caller just raised (`contact_id` from its receipt)."""
    return put_in(api, Scope.concern(contact_id), path, key_file, sensitivity, None)


def put_in(
    api: Api, scope: Scope, path: Path, key_file: KeyFile, sensitivity: str,
    kind: str | None, accept_new_keys: Iterable[str] = (),
) -> str:  # fmt: skip
    known = key_file.known(accept_new_keys)
    file_id = str(uuid.uuid4())
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with tempfile.TemporaryFile() as spool:
        with path.open("rb") as src:
            encrypted = crypto.encrypt_stream(src, spool, scope.id, file_id)
        name = crypto.encrypt_name(encrypted.key, path.name, media_type, scope.id, file_id)
        listed = api.json("GET", scope.recipients)
        people = _trusted(known, key_file, listed["items"])
        for _attempt in range(3):
            try:
                _post(api, scope, file_id, key_file, sensitivity, kind, encrypted, name, people)
                break
            except ApiError as exc:
                if exc.code != "recipients_changed":
                    raise
                people = _trusted(known, key_file, exc.body["recipients"])
        else:
            raise RuntimeError("The people who may read it kept changing; try again.")
        spool.seek(0)
        api.upload(f"{scope.items}/{file_id}/content", spool, encrypted.size)
    return file_id


def _trusted(
    known: KnownKeys, key_file: KeyFile, recipients: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """(user id, box public key) of each recipient whose keys are the pinned ones (pinned
    now if first seen); one's own must be those of one's key file. Nothing is sealed for
    anyone until every recipient has passed."""
    for r in recipients:
        user, box, sign = r["user"], r["box_public"], r["sign_public"]
        if user["id"] == key_file.user_id:
            if fingerprint_of(box, sign) != key_file.fingerprint:
                raise NotYourKeys(
                    f"the server's public keys for you (fingerprint {fingerprint_of(box, sign)})"
                    f" are not those of {key_file.path} ({key_file.fingerprint}): use the key "
                    "file you published last, or make new keys (caseroom keys init)"
                )
            continue
        known.check(user["id"], str(user["name"]), box, sign, now=True)
    known.save()
    return [(r["user"]["id"], r["box_public"]) for r in recipients]


def _post(
    api: Api, scope: Scope, file_id: str, key_file: KeyFile, sensitivity: str,
    kind: str | None, encrypted: crypto.Encrypted, name: str, people: list[tuple[str, str]],
) -> None:  # fmt: skip
    sealed = [(user_id, box, crypto.seal_key(encrypted.key, box)) for user_id, box in people]
    manifest = fileformat.manifest(
        room_id=scope.id, file_id=file_id, uploader_id=key_file.user_id,
        sensitivity=sensitivity, header=encrypted.header, size=encrypted.size,
        sha256=encrypted.sha256, encrypted_name=name, recipients=sealed,
    )  # fmt: skip
    api.json("POST", scope.create, {
        "id": file_id, "sensitivity": sensitivity, **({"kind": kind} if kind else {}),
        "size": encrypted.size, "sha256": encrypted.sha256, "manifest": manifest.decode(),
        "signature": crypto.sign(key_file.keys, manifest), "encrypted_name": name,
        "keys": [{"user_id": u, "sealed_key": s} for u, _, s in sealed],
    })  # fmt: skip


def get(
    api: Api, file_id: str, key_file: KeyFile, out: Path, accept_new_keys: Iterable[str] = ()
) -> str:
    """Writes the plaintext to `out` only once every check has passed; returns its name.
    The key that signed the file must be its uploader's pinned one (KeysChanged), unless
    their id is in `accept_new_keys`."""
    return _get(api, "/files", file_id, key_file, out, accept_new_keys)


def get_photo(api: Api, photo_id: str, key_file: KeyFile, out: Path) -> str:
    """A photo on a concern, checked and decrypted as `get` does a file."""
    return _get(api, "/photos", photo_id, key_file, out, ())


def _get(
    api: Api, items: str, file_id: str, key_file: KeyFile, out: Path,
    accept_new_keys: Iterable[str],
) -> str:  # fmt: skip
    known = key_file.known(accept_new_keys)
    meta = api.json("GET", f"{items}/{file_id}")
    try:
        manifest = _verified_manifest(meta, file_id, key_file)
        _check_uploader(known, meta, manifest)
        if not meta.get("sealed_key"):
            raise PermissionError(
                "You hold no key to this file yet: ask someone who has it to share it."
            )
        key = crypto.open_key(key_file.keys, meta["sealed_key"])
        scope = str(meta.get("scope_id") or meta["room_id"])
        name, _type = crypto.decrypt_name(key, meta["encrypted_name"], scope, file_id)
        fd, temp = tempfile.mkstemp(dir=out.parent or Path("."), prefix=".caseroom-")
        try:
            with os.fdopen(fd, "wb") as sink:
                crypto.decrypt_stream(api.download(f"{items}/{file_id}/content"), sink, key,
                                      manifest)  # fmt: skip
            os.replace(temp, out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except Tampered as exc:
        api.json("POST", f"{items}/{file_id}/tampered", {"reason": str(exc)[:200]})
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
        "v": fileformat.VERSION, "file_id": file_id,
        "room_id": meta.get("scope_id") or meta["room_id"],
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


def _check_uploader(known: KnownKeys, meta: dict[str, Any], manifest: dict[str, Any]) -> None:
    """The uploader's keys when they signed: the signing key that verified the manifest,
    and the box key the manifest itself lists for them (every uploader is a recipient of
    their own file), so the server's word is needed for neither."""
    uploader = meta["uploader"]
    boxes = [r.get("box_public") for r in manifest.get("recipients", [])
             if isinstance(r, dict) and r.get("user_id") == uploader["id"]]  # fmt: skip
    if len(boxes) != 1 or not isinstance(boxes[0], str):
        raise Tampered("the manifest does not list its uploader's keys")
    try:
        known.check(uploader["id"], str(uploader["name"]), boxes[0],
                    meta["uploader_sign_public"], now=False)  # fmt: skip
    except ValueError as exc:
        raise Tampered("the manifest lists a malformed key for its uploader") from exc
    known.save()


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
    reasons: dict[str, str] | None = None, accept_new_keys: Iterable[str] = (),
) -> None:  # fmt: skip
    """Wrap a file key we hold for someone else (after checking the file's manifest and
    that their keys, and the uploader's, are the pinned ones). For someone entitled at
    upload who had no keys then, no reasons are needed; the lead's share with a guest or
    a newer member is a sharing decision and needs `reasons` (purpose, lawful_basis,
    consent, consent_reason)."""
    _share(api, "/files", file_id, key_file, user_id, reasons or {}, accept_new_keys)


def share_photo(api: Api, photo_id: str, key_file: KeyFile, user_id: str) -> None:
    """Wrap a concern photo's key for someone who may read it now (the triager for the
    lead of the room the concern went to; a holder in the room for its people)."""
    _share(api, "/photos", photo_id, key_file, user_id, {}, ())


def _share(
    api: Api, items: str, file_id: str, key_file: KeyFile, user_id: str,
    reasons: dict[str, str], accept_new_keys: Iterable[str],
) -> None:  # fmt: skip
    known = key_file.known(accept_new_keys)
    meta = api.json("GET", f"{items}/{file_id}")
    manifest = _verified_manifest(meta, file_id, key_file)
    _check_uploader(known, meta, manifest)
    if not meta.get("sealed_key"):
        raise PermissionError("You hold no key to this file, so you cannot share it.")
    key = crypto.open_key(key_file.keys, meta["sealed_key"])
    offer = next((o for o in meta.get("offer_to_wrap", []) if o["user"]["id"] == user_id), None)
    # A photo's offers carry the keys (the triager shares no room with the lead they pass
    # it to); a file's recipient shares the room, and their keys are asked for.
    theirs = offer if offer and "sign_public" in offer else (
        api.json("GET", f"/users/{user_id}/keys"))  # fmt: skip
    name = str(offer["user"]["name"]) if offer else f"user {user_id}"
    known.check(user_id, name, theirs["box_public"], theirs["sign_public"], now=True)
    known.save()
    sealed = crypto.seal_key(key, theirs["box_public"])
    api.json("POST", f"{items}/{file_id}/keys", {
        "keys": [{"user_id": user_id, "sealed_key": sealed}], **reasons,
    })  # fmt: skip
