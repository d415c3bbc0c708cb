"""What the files services return, and their JSON shapes (DESIGN.md §6 "Files"). Kept
here, beside the views, so `workspace/serialize.py` and these services do not import
each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workspace import serialize
from workspace.clock import iso
from workspace.models import EncryptedFile, Organisation, SealedKey, User, UserKeys


@dataclass(frozen=True)
class Person:
    user: User
    organisation: Organisation

    def json(self) -> dict[str, Any]:
        return serialize.user(self.user, self.organisation)


@dataclass(frozen=True)
class Recipient:
    person: Person
    keys: UserKeys


@dataclass(frozen=True)
class Recipients:
    """Who may read a file of a sensitivity now: with keys, and entitled but keyless."""

    items: tuple[Recipient, ...]
    waiting: tuple[Person, ...]

    def json(self) -> dict[str, Any]:
        return {
            "items": [
                {
                    "user": r.person.json(),
                    "box_public": r.keys.box_public,
                    "sign_public": r.keys.sign_public,
                    "fingerprint": r.keys.fingerprint,
                }
                for r in self.items
            ],
            "waiting": [p.json() for p in self.waiting],
        }


def public_keys(keys: UserKeys) -> dict[str, Any]:
    return {
        "user_id": keys.user_id,
        "box_public": keys.box_public,
        "sign_public": keys.sign_public,
        "fingerprint": keys.fingerprint,
    }


def own_keys(keys: UserKeys) -> dict[str, Any]:
    """Only ever sent to the keys' owner: the sealed private blob and how to open it."""
    return {
        **public_keys(keys),
        "sealed_private": keys.sealed_private,
        "kdf": {"salt": keys.kdf_salt, "opslimit": keys.kdf_opslimit,
                "memlimit": keys.kdf_memlimit},
        "updated_at": iso(keys.updated_at),
    }  # fmt: skip


@dataclass(frozen=True)
class FileView:
    file: EncryptedFile
    uploader: Person
    uploader_keys: UserKeys | None
    sealed_key: SealedKey | None  # the caller's own, if they hold one
    # People the caller (a holder) may wrap the key for without a new decision: entitled
    # when it was uploaded, keys published since (issue #10 item 4).
    offer_to_wrap: tuple[Recipient, ...] = ()

    def json(self) -> dict[str, Any]:
        f = self.file
        return {
            "id": f.id,
            "room_id": f.room_id,
            "uploader": self.uploader.json(),
            # The key that signed this manifest, not the uploader's newest.
            "uploader_sign_public": f.sign_public,
            "kind": f.kind,
            "sensitivity": f.sensitivity,
            "size": f.size,
            "sha256": f.sha256,
            "manifest": f.manifest,
            "signature": f.signature,
            "encrypted_name": f.encrypted_name,
            "created_at": iso(f.created_at),
            "stored": f.content_state == "stored",
            "sealed_key": self.sealed_key.sealed_key if self.sealed_key else None,
            "offer_to_wrap": [
                {"user": r.person.json(), "box_public": r.keys.box_public,
                 "fingerprint": r.keys.fingerprint}
                for r in self.offer_to_wrap
            ],
        }  # fmt: skip

    def event(self) -> dict[str, Any]:
        """The live `file` event: metadata only. Each reader fetches their own key."""
        out = self.json()
        out["sealed_key"] = None
        out["offer_to_wrap"] = []
        return out
