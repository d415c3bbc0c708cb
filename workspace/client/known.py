"""Trust on first use for other people's keys (docs/file-format.md §7).

The server hands out public keys; a server that lied about them could have file keys
wrapped for itself, or sign files in someone's name. So the client remembers, in a file
beside the key file (`<keyfile>.known.json`, mode 0600), the fingerprint of each person's
keys as it first saw them, computed here from the keys themselves (never the server's
`fingerprint` field), and refuses to go on when they change until its user, having
compared fingerprints with that person out of band, accepts the new ones.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from workspace import fileformat
from workspace.fileformat import unb64

SUFFIX = ".known.json"


def fingerprint_of(box_public: str, sign_public: str) -> str:
    """The format's fingerprint of keys as the server sent them (base64)."""
    return fileformat.fingerprint(
        unb64(box_public, fileformat.PUBLIC_KEY_BYTES),
        unb64(sign_public, fileformat.PUBLIC_KEY_BYTES),
    )


class KeysChanged(Exception):
    """Someone's keys are not the ones pinned for them: a new device or a forgotten
    passphrase, or a server handing out keys of its own. Only a comparison of
    fingerprints with the person tells which."""

    def __init__(self, user_id: str, name: str, pinned: str, seen: str) -> None:
        self.user_id, self.name, self.pinned, self.seen = user_id, name, pinned, seen
        super().__init__(
            f"the keys of {name} (user {user_id}) are not the ones you pinned for them: "
            f"pinned fingerprint {pinned}, now {seen}. Compare fingerprints with {name} "
            "out of band (`caseroom keys fingerprint`, or the fingerprint beside them in "
            f"Caseroom); only if they made new keys, run again with --accept-new-keys {user_id}"
        )


class NotYourKeys(Exception):
    """The server's public keys for the caller are not those of their key file."""


class KnownKeys:
    """`pinned`: user id -> the fingerprint their keys are expected to have now.
    `earlier`: user id -> fingerprints pinned before a change was accepted, still good for
    files those keys signed (a reader checks the key that signed a file, not the newest)."""

    def __init__(
        self,
        path: Path,
        pinned: dict[str, str],
        earlier: dict[str, list[str]],
        accept: Iterable[str] = (),
    ) -> None:
        self.path = path
        self.pinned = pinned
        self.earlier = earlier
        self.accept = frozenset(accept)
        self.changed = False

    @classmethod
    def beside(cls, key_path: Path, accept: Iterable[str] = ()) -> KnownKeys:
        path = key_path.with_name(key_path.name + SUFFIX)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path, {}, {}, accept)
        # A damaged file is not started afresh: that would trust whatever comes next.
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError(f"{path} is not a known-keys file this client can read.")
        pinned = {str(k): str(v) for k, v in dict(data.get("pinned", {})).items()}
        earlier = {str(k): [str(f) for f in v] for k, v in dict(data.get("earlier", {})).items()}
        return cls(path, pinned, earlier, accept)

    def check(
        self, user_id: str, name: str, box_public: str, sign_public: str, *, now: bool
    ) -> None:
        """`now`: the keys are someone's current ones (to wrap a file key for them), so
        only the pinned fingerprint will do; otherwise they are the keys that signed a
        file, which may be ones accepted before a later change."""
        seen = fingerprint_of(box_public, sign_public)
        pinned = self.pinned.get(user_id)
        if pinned == seen or (not now and seen in self.earlier.get(user_id, [])):
            return
        if pinned is not None and user_id not in self.accept:
            raise KeysChanged(user_id, name, pinned, seen)
        self.pin(user_id, seen)

    def pin(self, user_id: str, fingerprint: str) -> None:
        before = self.pinned.get(user_id)
        if before == fingerprint:
            return
        if before is not None:
            kept = [f for f in self.earlier.get(user_id, []) if f != fingerprint]
            self.earlier[user_id] = [*kept, before]
        self.pinned[user_id] = fingerprint
        self.changed = True

    def save(self) -> None:
        """Atomically, mode 0600 from the start (it says whom the user trusts)."""
        if not self.changed:
            return
        text = json.dumps(
            {"v": 1, "pinned": self.pinned, "earlier": self.earlier}, indent=2, sort_keys=True
        )
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".known-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text + "\n")
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self.changed = False
