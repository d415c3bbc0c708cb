"""End-to-end encrypted files: upload and download throughput with the Python client, and
the server's memory while a large file streams in (issue #10).

1. A temporary data dir: `caseroom init`, `caseroom demo`, tokens for Sarah and Hana.
2. `caseroom serve` in a child process; its resident memory (VmRSS) is sampled every 10 ms.
3. Sarah and Hana make and publish keys (workspace/client); a random file of --mb MB is put
   in Jamie's room by Sarah (encrypt, wrap, sign, upload) and got by Hana (download,
   verify, decrypt); the bytes are compared.

Prints MB/s for each direction (whole client operation, crypto included) and the server's
RSS before, at its peak during the upload and the download: the upload streams to disk, so
the peak should not grow with the file.

    .venv/bin/python bench/files.py [--mb 100]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workspace.client import files  # noqa: E402
from workspace.client.http import Api  # noqa: E402

T = TypeVar("T")
MB = 1_000_000


def caseroom(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "workspace.cli", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"caseroom {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss:
    """Samples a process's resident memory on a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MB (default 100)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-files-") as tmp:
        data_dir, outside = Path(tmp) / "var", Path(tmp) / "client"
        outside.mkdir()
        env = dict(os.environ, CASEROOM_DATA_DIR=str(data_dir),
                   CASEROOM_DATABASE_URL=f"sqlite:///{data_dir / 'caseroom.db'}",
                   CASEROOM_SECRET_KEY=secrets.token_hex(32),
                   CASEROOM_MAX_FILE_BYTES=str(args.mb * MB + 10 * MB))  # fmt: skip
        env.pop("CASEROOM_REDIS_URL", None)
        caseroom(env, "init")
        caseroom(env, "demo")
        tokens = {who: caseroom(env, "token", "create", who) for who in
                  ("sarah.social@council.example", "hana.health@nhs.example")}  # fmt: skip
        port = 18000 + os.getpid() % 1000
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "workspace.cli", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1).close()
                    break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            sarah_api, hana_api = (Api(url, t) for t in tokens.values())
            sarah = files.keys_init(sarah_api, outside / "sarah.key", "bench passphrase 123")
            hana = files.keys_init(hana_api, outside / "hana.key", "bench passphrase 123")
            room_id = next(r["id"] for r in sarah_api.json("GET", "/rooms")["items"]
                           if r["child"]["name"] == "Jamie Carter")  # fmt: skip
            plain = outside / "big.bin"
            digest = hashlib.sha256()
            with plain.open("wb") as f:
                for _ in range(args.mb):
                    block = os.urandom(MB)
                    digest.update(block)
                    f.write(block)
            before = rss_mb(server.pid)
            with PeakRss(server.pid) as up:
                file_id, up_s = timed(lambda: files.put(sarah_api, room_id, plain, sarah))
            after_up = rss_mb(server.pid)
            out = outside / "got.bin"
            with PeakRss(server.pid) as down:
                _name, down_s = timed(lambda: files.get(hana_api, file_id, hana, out))
            got = hashlib.sha256(out.read_bytes()).hexdigest()
            if got != digest.hexdigest():
                raise SystemExit("the downloaded file differs from the original")
        finally:
            server.terminate()
            server.wait(timeout=10)
    load = os.getloadavg()
    print(f"files bench: {args.mb} MB, Python client, one server process "
          f"(load average {load[0]:.2f} {load[1]:.2f})")  # fmt: skip
    print(f"  upload   (encrypt, wrap, sign, stream): {args.mb / up_s:7.1f} MB/s  ({up_s:.1f} s)")
    print(f"  download (stream, verify, decrypt):     {args.mb / down_s:7.1f} MB/s  "
          f"({down_s:.1f} s)")  # fmt: skip
    print(f"  server RSS: {before:.0f} MB before, peak {up.peak:.0f} MB during the upload "
          f"(+{up.peak - before:.0f} MB), {after_up:.0f} MB after; "
          f"peak {down.peak:.0f} MB during the download")  # fmt: skip


if __name__ == "__main__":
    main()
