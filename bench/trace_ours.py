"""`caseroom serve`, with timers: where a chat message's time goes inside our server.

    CASEROOM_DATA_DIR=... .venv/bin/python bench/trace_ours.py --port 8000

Serves exactly what `caseroom serve` serves (workspace.asgi.create_asgi under uvicorn),
after wrapping a few functions with timers in this process only (no app file changes):

- the thread hop of each group of socket units of work (realtime.group_commit, one
  transaction each) and of a connect: queueing before a worker thread picks it up, and
  the work's wall and CPU time in that thread; how many units each group held;
- the steps inside: sign-in check (user_for, which opens the transaction: SQLite
  `BEGIN IMMEDIATE`, timed on its own), Access (principal_for), post_message and its parts
  (access.room, audit append, mentions, read marker), commit;
- on the event loop: on_message, publish, and each socket.io emit by event name;
- how late the server's event loop wakes up (a 10 ms ticker).

CASEROOM_BENCH_WHATIF runs experiments instead (see WHATIF below; bench/README.md).

With --bare it serves bench/bare_relay.py instead, with only the GC and loop timers.

GET /__bench/stats returns the numbers since the last GET with ?reset=1 (JSON).
bench/chat_fanout.py --trace uses it around each measured send.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Experiments, not the app as shipped (CASEROOM_BENCH_WHATIF, comma-separated):
#   one-writer   units of work run one at a time, queued FIFO on the event loop, instead of
#                all at once in threads that then wait in SQLite's sleeping busy handler
#   switch=S     sys.setswitchinterval(S): how long a thread waits for the GIL (default 5 ms)
#   gc-freeze    gc.freeze() just before the measured send, once every listener is connected:
#                full collections then skip the long-lived objects (sockets, app, caches)
#   gc-freeze-at-start   gc.freeze() once the app is built, before serving (what a server
#                can do at startup; sockets opened later are still scanned)
#   gc-threshold=A/B/C   gc.set_threshold(A, B, C) (Python's default is 700/10/10)
# gc-* apply to the bare relay too (chat_fanout --trace runs it under this file as well).
WHATIF = {w.strip() for w in os.environ.get("CASEROOM_BENCH_WHATIF", "").split(",") if w.strip()}
_lock = threading.Lock()
_local = threading.local()
_stats: dict[str, list[float]] = defaultdict(list)
_since = time.perf_counter()


def note(name: str, seconds: float) -> None:
    with _lock:
        _stats[name].append(seconds)


def summary(reset: bool) -> dict[str, Any]:
    global _since
    with _lock:
        stats = {k: sorted(v) for k, v in _stats.items()}
        window = time.perf_counter() - _since
        if reset:
            _stats.clear()
            _since = time.perf_counter()
    out: dict[str, Any] = {}
    for name, values in stats.items():
        n = len(values)
        out[name] = {
            "count": n,
            "total_ms": sum(values) * 1000,
            "mean_ms": sum(values) / n * 1000,
            "p50_ms": values[n // 2] * 1000,
            "p99_ms": values[min(n - 1, round(0.99 * (n - 1)))] * 1000,
            "max_ms": values[-1] * 1000,
        }
    return {"window_s": window, "timers": out, "gc_tracked_objects": len(gc.get_objects()),
            "gc_frozen_objects": gc.get_freeze_count()}  # fmt: skip


def timed(name: str, fn: Callable[..., Any], cpu: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            note(name, time.perf_counter() - t0)
            if cpu:
                note(name + " [thread CPU]", time.thread_time() - c0)

    return wrapper


def atimed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            note(name, time.perf_counter() - t0)

    return wrapper


def instrument() -> None:
    import socketio
    from sqlalchemy import event
    from sqlmodel import Session

    import realtime.group_commit as rg
    import realtime.server as rs
    import workspace.access as wa
    import workspace.db as wdb
    import workspace.services.messages as wm
    from policy.authorizer import Authorizer
    from workspace.audit import AuditWriter

    # The transaction start: the app's own "begin" listener (workspace/db.py) issues
    # SQLite's BEGIN IMMEDIATE, which waits for the write lock; ours run just before and
    # just after it, so the app's code is unchanged.
    app_serialised_writes = wdb._sqlite_serialised_writes

    def serialised_writes(engine: Any) -> None:
        @event.listens_for(engine, "begin", insert=True)
        def _before_begin(_conn: Any) -> None:
            _local.begin_at = time.perf_counter()

        app_serialised_writes(engine)

        @event.listens_for(engine, "begin")
        def _after_begin(_conn: Any) -> None:
            _local.locked_at = time.perf_counter()
            note("db: BEGIN IMMEDIATE (write-lock wait)", _local.locked_at - _local.begin_at)

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_a: Any) -> None:
            _local.statements = getattr(_local, "statements", 0) + 1

    wdb._sqlite_serialised_writes = serialised_writes

    # The thread hop of every unit of work.
    original_rip = rs.run_in_threadpool
    unit_lock = asyncio.Lock() if "one-writer" in WHATIF else None
    for w in WHATIF:
        if w.startswith("switch="):
            sys.setswitchinterval(float(w.split("=", 1)[1]))

    async def run_in_threadpool(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t_call = time.perf_counter()

        def inner() -> Any:
            note("unit: wait for a worker thread", time.perf_counter() - t_call)
            t0, c0 = time.perf_counter(), time.thread_time()
            _local.statements, _local.locked_at = 0, None
            try:
                return func(*args, **kwargs)
            finally:
                end = time.perf_counter()
                note("unit: work in thread (wall)", end - t0)
                note("unit: work in thread (thread CPU)", time.thread_time() - c0)
                note("unit: SQL statements (count, not ms)", _local.statements / 1000)
                if _local.locked_at is not None:
                    note("db: write lock held (BEGIN IMMEDIATE .. end of unit)",
                         end - _local.locked_at)  # fmt: skip

        try:
            if unit_lock is None:
                return await original_rip(inner)
            async with unit_lock:
                return await original_rip(inner)
        finally:
            note("unit: call -> result back on loop", time.perf_counter() - t_call)

    rs.run_in_threadpool = run_in_threadpool  # type: ignore[assignment]
    rg.run_in_threadpool = run_in_threadpool  # type: ignore[assignment]
    original_group = rg.GroupCommit._write

    def group_write(self: Any, works: Any) -> Any:
        note("unit: units in one group (count, not ms)", len(works) / 1000)
        return original_group(self, works)

    rg.GroupCommit._write = group_write  # type: ignore[method-assign]

    rs.holder_for = timed("work: holder_for (credential check; opens the transaction)",
                          rs.holder_for)  # fmt: skip
    wa.principal_for = timed("work: principal_for (Access, and user_may)", wa.principal_for)
    wm.post_message = timed("work: post_message (all of it)", wm.post_message, cpu=True)
    wa.Access.room = timed("post: access.room (load, policy, audit)", wa.Access.room)  # type: ignore[method-assign]
    AuditWriter.append = timed("post: audit append (head lock, HMAC, insert)", AuditWriter.append)  # type: ignore[method-assign]
    wm._record_mentions = timed("post: _record_mentions", wm._record_mentions)
    wm._mark = timed("post: _mark (read marker, ReadUpTo)", wm._mark)
    wm._views = timed("post: _views", wm._views)
    wm.payload = timed("post/ack: payload (serialize)", wm.payload)
    Authorizer.is_allowed = timed("policy: is_allowed (each call)", Authorizer.is_allowed)  # type: ignore[method-assign]
    Session.commit = timed("db: session.commit", Session.commit)  # type: ignore[method-assign]

    rs.Realtime.on_message = atimed("loop: on_message (whole handler)", rs.Realtime.on_message)  # type: ignore[method-assign]
    rs.Realtime.publish = atimed("loop: publish (all emits of one unit)", rs.Realtime.publish)  # type: ignore[method-assign]
    original_emit = socketio.AsyncServer.emit

    async def emit(self: Any, event_name: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await original_emit(self, event_name, *args, **kwargs)
        finally:
            note(f"loop: sio.emit {event_name!r}", time.perf_counter() - t0)

    socketio.AsyncServer.emit = emit  # type: ignore[method-assign]


async def _lag_ticker() -> None:
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        note("loop: wake-up lateness (10 ms ticker)", time.perf_counter() - t0 - 0.01)


def _gc_timer() -> None:
    """Pauses of Python's cyclic garbage collector, by generation."""
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            note(f"gc: collection pause, generation {info['generation']}",
                 time.perf_counter() - started[0])  # fmt: skip

    gc.callbacks.append(callback)


def build_app(bare: bool = False) -> Any:
    """Ours, instrumented; or (`bare`) bench/bare_relay.py with only the GC and loop
    timers, so both sides of the comparison are measured the same way."""
    _gc_timer()
    if bare:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bare_relay import app as inner
    else:
        instrument()
        from workspace.asgi import create_asgi

        inner = create_asgi()
    if "gc-freeze-at-start" in WHATIF:
        gc.collect()
        gc.freeze()  # the app as built: modules, app, policy, ORM (what a server can do)
    for w in WHATIF:
        if w.startswith("gc-threshold="):
            gc.set_threshold(*(int(x) for x in w.split("=", 1)[1].split("/")))
    ticker: list[asyncio.Task[None]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench/stats":
            if not ticker:
                ticker.append(asyncio.get_running_loop().create_task(_lag_ticker()))
            if "gc-freeze" in WHATIF and b"reset" in scope.get("query_string", b""):
                gc.collect()
                gc.freeze()  # what is alive now (the sockets, the app) is never scanned again
            body = json.dumps(summary(reset=b"reset" in scope.get("query_string", b""))).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)

    return app


def main() -> None:
    import uvicorn

    from workspace.asgi import UVICORN_OPTIONS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--bare", action="store_true", help="serve bench/bare_relay.py instead")
    args = parser.parse_args()
    uvicorn.run(build_app(args.bare), host=args.host, port=args.port, log_level="info",
                **UVICORN_OPTIONS)  # fmt: skip


if __name__ == "__main__":
    main()
