"""Ciphertext on disk, content-addressed under the data dir: `files/ab/abcdef…` named by
its sha256. An upload streams into `files/incoming/` while its size and hash are counted,
and is renamed into place only once both match what the uploader declared; whatever goes
wrong on the way (too large, cut off, a different hash) leaves nothing behind.

A crash mid-upload can still leave a temporary file. Its name starts with the app clock's
time when it was begun (`<unix seconds>-<random>.part`), so `sweep_incoming` can tell its
age by the clock every test fixes, not by the file system's wall-clock times."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from workspace.clock import Clock
from workspace.errors import Invalid, TooLarge
from workspace.settings import Settings

READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Expected:
    """What the uploader declared (and signed): the ciphertext's size and sha256."""

    size: int
    sha256: str


def store_for(settings: Settings, clock: Clock) -> FileStore:
    return FileStore(settings.data_dir, settings.max_file_bytes, clock)


class FileStore:
    def __init__(self, data_dir: Path, limit: int, clock: Clock) -> None:
        self.root = data_dir / "files"
        self.incoming = self.root / "incoming"
        self.limit = limit
        self.clock = clock

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def receive(self, body: AsyncIterator[bytes], expected: Expected) -> Path:
        """Stream `body` to a temporary file; its path once size and hash match."""
        temp = self.begin()
        digest = hashlib.sha256()
        seen = 0
        try:
            with temp.open("wb") as out:
                async for chunk in body:
                    seen += len(chunk)
                    if seen > self.limit:
                        raise TooLarge(f"A file may be at most {self.limit} bytes.")
                    if seen > expected.size:
                        raise Invalid(
                            "The upload is longer than the size declared for this file.",
                            fields={"size": "differs"},
                        )
                    digest.update(chunk)
                    await run_in_threadpool(out.write, chunk)
            if seen != expected.size:
                raise Invalid(
                    f"The upload is {seen} bytes; {expected.size} were declared.",
                    fields={"size": "differs"},
                )
            if digest.hexdigest() != expected.sha256:
                raise Invalid(
                    "The upload's sha256 differs from the one declared (and signed).",
                    fields={"sha256": "differs"},
                )
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp

    def begin(self) -> Path:
        """A new, empty temporary file (mode 0600), named by the time it was begun."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        temp = self.incoming / f"{self._stamp()}-{uuid.uuid4().hex}.part"
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return temp

    def keep(self, temp: Path, sha256: str) -> Path:
        """Move a checked upload into place (atomic on one filesystem)."""
        final = self.path_of(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        return final

    def discard(self, temp: Path) -> None:
        temp.unlink(missing_ok=True)

    def read(self, sha256: str) -> Iterator[bytes]:
        with self.path_of(sha256).open("rb") as f:
            while chunk := f.read(READ_CHUNK):
                yield chunk

    def sweep_incoming(self, older_than: datetime) -> int:
        """Remove temporary files begun before `older_than` (left by a crash: a finished
        or refused upload removes its own); returns how many. A file whose name carries
        no time (left by an older version) is given the present one, and goes a limit
        later."""
        if not self.incoming.is_dir():
            return 0
        removed = 0
        for path in self.incoming.iterdir():
            if not path.is_file():
                continue
            begun = _begun(path.name)
            if begun is None:
                path.rename(self.incoming / f"{self._stamp()}-{path.name}")
            elif begun < older_than.timestamp():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _stamp(self) -> int:
        return int(self.clock.now().timestamp())


def _begun(name: str) -> int | None:
    stamp, dash, _rest = name.partition("-")
    return int(stamp) if dash and stamp.isdigit() else None
