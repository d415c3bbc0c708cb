"""Concurrent audited reads against one `caseroom serve` (issue #13): what the database's
write lock costs when many people read at once. Prints numbers.

    .venv/bin/python bench/concurrent_reads.py                 # 1, 4, 8, 16 readers, 8 s each
    .venv/bin/python bench/concurrent_reads.py --readers 8 --seconds 20

A temporary data dir on SQLite (`caseroom init`, `caseroom demo`, bench members of Jamie's
room with their own API tokens, as bench/chat_fanout.py makes them), one `caseroom serve`,
then N threads each reading the room (`GET /api/v1/rooms/{id}`, or its messages) as fast as
it answers. Every read is audited, so every read takes SQLite's write lock for the chain
head: this shows how requests queue for it (workspace/db.py `Turns`). For each N: requests
per second, p50 / p99 / max latency, and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import httpx2  # noqa: E402
from chat_fanout import (  # noqa: E402
    Server,
    add_bench_users,
    bench_env,
    caseroom_cmd,
    free_port,
    pct,
    prepare_database,
)


def run(readers: int, seconds: float, room: str, tokens: list[str], url: str) -> None:
    latencies: list[float] = []
    lock = threading.Lock()

    def reader(n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[n]}"}
        path = f"{url}/api/v1/rooms/{room}" + ("/messages" if n % 2 else "")
        with httpx2.Client(timeout=120) as client:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                began = time.perf_counter()
                got = client.get(path, headers=headers)
                took = time.perf_counter() - began
                if got.status_code != 200:
                    raise SystemExit(f"{got.status_code}: {got.text[:200]}")
                with lock:
                    latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        f"{readers:>3} readers  {len(latencies) / elapsed:6.1f} req/s  "
        f"p50 {pct(latencies, 0.50) * 1e3:7.1f} ms  p99 {pct(latencies, 0.99) * 1e3:7.1f} ms  "
        f"max {latencies[-1] * 1e3:7.1f} ms  ({len(latencies)} reads, load "
        f"{os.getloadavg()[0]:.1f})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, nargs="*", default=[1, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-") as tmp:
        data = Path(tmp)
        env = bench_env(data)
        prepare_database(env)
        room, tokens = add_bench_users(env, max(args.readers))
        port = free_port()
        server = Server("ours", caseroom_cmd("serve", "--port", str(port)), port,
                        data / "serve.log", env)  # fmt: skip
        server.start()
        try:
            server.wait_ready()
            print(f"Concurrent audited reads, SQLite, one process, {os.cpu_count()} CPUs")
            for readers in args.readers:
                run(readers, args.seconds, room, tokens, server.url)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
