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

4. With `--browser`: the same file through Chromium (Playwright, Debian's chromium): Sarah
   unlocks in the page the keys her Python client published (same passphrase: the formats
   agree), shares the file from Jamie's room, and Hana downloads it in another context.
   Printed: MB/s each way, the longest the page's event loop was blocked meanwhile (a 50 ms
   timer's worst lateness: the tab must not freeze) and the tab's peak JS heap.

    .venv/bin/python bench/files.py [--mb 100] [--browser]
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
from typing import Any, TypeVar

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


# The page's event loop, probed from outside the page (CDP, so the CSP does not apply): the
# worst lateness of a 50 ms timer, and the JS heap's peak (Chromium's performance.memory).
PROBE = """() => {
  window.__bench = { lag: 0, heap: 0 };
  let last = performance.now();
  window.__benchTimer = setInterval(() => {
    const now = performance.now();
    window.__bench.lag = Math.max(window.__bench.lag, now - last - 50);
    window.__bench.heap = Math.max(window.__bench.heap, performance.memory.usedJSHeapSize);
    last = now;
  }, 50);
}"""


def in_browser(url: str, data_dir: Path, plain: Path, mb: int, passphrase: str) -> list[str]:
    from playwright.sync_api import expect, sync_playwright

    from workspace.services.demo import CREDENTIALS_FILE

    password = (data_dir / CREDENTIALS_FILE).read_text().strip()
    lines = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])  # fmt: skip

        def room_page(email: str) -> Any:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(url + "/login")
            page.get_by_label("Email address").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Jamie Carter").click()
            panel = page.locator("#keys-panel")
            panel.get_by_label("Encryption passphrase").fill(passphrase)
            panel.get_by_role("button", name="Unlock").click()
            expect(panel.locator("[data-keys-fingerprint]")).not_to_be_empty(timeout=30_000)
            return page

        sarah = room_page("sarah.social@council.example")
        sarah.evaluate(PROBE)
        sarah.get_by_label("Choose a file to share").set_input_files(str(plain))
        start = time.perf_counter()
        sarah.get_by_role("button", name="Encrypt and share").click()
        expect(sarah.locator("[data-upload-status]")).to_contain_text(
            "Shared big.bin", timeout=600_000
        )
        up_s = time.perf_counter() - start
        probe = sarah.evaluate("window.__bench")
        lines.append(f"  browser upload   (encrypt, wrap, sign, send): {mb / up_s:7.1f} MB/s  "
                     f"({up_s:.1f} s); page blocked at most {probe['lag']:.0f} ms; "
                     f"JS heap peak {probe['heap'] / 1e6:.0f} MB")  # fmt: skip
        hana = room_page("hana.health@nhs.example")
        hana.evaluate(PROBE)
        item = hana.locator("#file-list li.file", has_text="big.bin").first
        start = time.perf_counter()
        with hana.expect_download(timeout=600_000) as caught:
            item.get_by_role("button", name="Download big.bin").click()
        saved = Path(caught.value.path())
        down_s = time.perf_counter() - start
        probe = hana.evaluate("window.__bench")
        same = hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(
            plain.read_bytes()).digest()  # fmt: skip
        if not same:
            raise SystemExit("the browser's download differs from the original")
        lines.append(f"  browser download (fetch, verify, decrypt):    {mb / down_s:7.1f} MB/s  "
                     f"({down_s:.1f} s); page blocked at most {probe['lag']:.0f} ms; "
                     f"JS heap peak {probe['heap'] / 1e6:.0f} MB")  # fmt: skip
        browser.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MB (default 100)")
    parser.add_argument("--browser", action="store_true", help="also through Chromium")
    args = parser.parse_args()
    browser_lines: list[str] = []
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
            if args.browser:
                browser_lines = in_browser(url, data_dir, plain, args.mb, "bench passphrase 123")
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
    for line in browser_lines:
        print(line)


if __name__ == "__main__":
    main()
