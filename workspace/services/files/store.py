"""Ciphertext on disk, content-addressed under the data dir: `files/ab/abcdef…` named by
its sha256. An upload streams into `files/incoming/` while its size and hash are counted,
and is renamed into place only once both match what the uploader declared; whatever goes
wrong on the way (too large, cut off, a different hash) leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from workspace.errors import Invalid, TooLarge
from workspace.settings import Settings

READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Expected:
    """What the uploader declared (and signed): the ciphertext's size and sha256."""

    size: int
    sha256: str


def store_for(settings: Settings) -> FileStore:
    return FileStore(settings.data_dir, settings.max_file_bytes)


class FileStore:
    def __init__(self, data_dir: Path, limit: int) -> None:
        self.root = data_dir / "files"
        self.incoming = self.root / "incoming"
        self.limit = limit

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def receive(self, body: AsyncIterator[bytes], expected: Expected) -> Path:
        """Stream `body` to a temporary file; its path once size and hash match."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        temp = self.incoming / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        seen = 0
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
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
