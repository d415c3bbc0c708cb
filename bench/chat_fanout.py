"""Live chat fan-out: Caseroom's socket.io server against a bare python-socketio relay.

    .venv/bin/python bench/chat_fanout.py                 # N = 50, 200, 500; 200 msgs at 20/s
    .venv/bin/python bench/chat_fanout.py --quick         # N = 50; 50 msgs
    .venv/bin/python bench/chat_fanout.py --clients 500 --profile /tmp/prof   # + py-spy

What it does (bench/README.md explains how to read the table):

1. A temporary data dir with a fresh SQLite database: `caseroom init`, `caseroom demo`,
   then bench users inserted directly (one shared password hash) as members of the demo
   room "Jamie Carter", each with an API token (accounts.create_token).
2. Two server processes side by side: `caseroom serve --port P` (ours) and
   bench/bare_relay.py under uvicorn (no auth, persistence, policy or audit).
3. For each N: N socketio.AsyncClients (websocket transport; ours: one user's token each)
   connect and join the room; a few warm-up messages act as a barrier (socket.io keeps
   per-socket order, so once every listener has them, join/presence traffic is drained);
   then one more client (not joined) sends M messages open-loop at --rate per second, each
   body carrying its perf_counter() send time. Every listener records its receive time
   (same process, same clock).

Clients run in this process, on one asyncio loop (uvloop when available); the servers are
separate processes. Everything started here is stopped, and the temp dir removed, on exit
(Ctrl-C included).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from harness import (
    BENCH,
    BENCH_ORG,
    LagMonitor,
    Server,
    bare_relay_cmd,
    bench_env,
    caseroom_cmd,
    cleanup_on_signals,
    fmt,
    free_port,
    gather_limited,
    insert_users,
    log,
    loop_name,
    machine_busy_seconds,
    pct,
    prepare_database,
    quietly_disconnect,
    run_loop,
    tokens_for,
    wait_quiet,
)

ROOM_CHILD = "Jamie Carter"
WARMUP = 3


# --- setup: data dir, database, users -------------------------------------------------------


def add_bench_users(env: dict[str, str], count: int) -> tuple[str, list[str]]:
    """`count` members of the demo room, each with an API token: (room id, tokens).

    Rows are inserted directly with one precomputed password hash (hashing 500 passwords
    with argon2id would take minutes); tokens go through accounts.create_token, audited
    like any other."""
    from sqlmodel import col, select

    from workspace.models import Child, Membership, Organisation, Room
    from workspace.settings import Settings
    from workspace.state import Caseroom

    app = Caseroom.build(Settings.from_env(env))
    try:
        with app.db.session() as session:
            room = session.exec(
                select(Room)
                .join(Child, col(Child.id) == col(Room.child_id))
                .where(Child.name == ROOM_CHILD)
            ).one()
            org = session.exec(select(Organisation).where(Organisation.name == BENCH_ORG)).one()
            now = app.clock.now()
            users, _password = insert_users(session, org.id, count, now)
            session.add_all(
                Membership(
                    room_id=room.id,
                    user_id=u.id,
                    role="member",
                    joined_at=now,
                    purpose="bench",
                    lawful_basis="safeguarding",
                )
                for u in users
            )
            session.flush()
            tokens = tokens_for(app, session, users)
            session.commit()
            return room.id, tokens
    finally:
        app.db.dispose()


# --- one measured run -------------------------------------------------------------------------


@dataclass
class Result:
    server: str
    clients: int
    messages: int
    rate: float
    received: int = 0
    lost: int = 0
    duplicates: int = 0
    wall: float = float("nan")
    deliveries_per_s: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    pmax: float = float("nan")
    ack_p50: float = float("nan")
    ack_p99: float = float("nan")
    ack_errors: int = 0
    server_cpu_ms_per_msg: float = float("nan")
    server_cpu_pct: float = float("nan")
    client_cpu_pct: float = float("nan")
    other_cpu_pct: float = float("nan")  # everything else on the machine (other tenants)
    loop_lag_max_ms: float = float("nan")
    connect_s: float = float("nan")
    dropped_sockets: int = 0
    notes: list[str] = field(default_factory=list)
    trace: dict[str, Any] | None = None  # --trace: bench/trace_ours.py's timers


async def run_one(
    server: Server,
    n: int,
    m: int,
    rate: float,
    room_id: str,
    listener_auth: list[dict[str, str] | None],
    sender_auth: dict[str, str] | None,
    args: argparse.Namespace,
    csv_rows: list[str] | None = None,
) -> Result:
    res = Result(server.name, n, m, rate)
    arrivals: list[tuple[float, str]] = []  # (receive time, body), appended in handlers
    dropped = [0]
    stop_counting = [False]
    pending_reads: set[asyncio.Future[Any]] = set()

    def listener(i: int) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        append = arrivals.append
        clock = time.perf_counter

        def on_message(data: Any) -> None:
            append((clock(), f"{i} {data['body']}"))
            if args.mark_read:  # as static/chat.js does for every message it shows
                read = {"message_id": data.get("id") or data.get("client_id")}
                task = asyncio.ensure_future(client.emit("read", read))
                pending_reads.add(task)
                task.add_done_callback(pending_reads.discard)

        def on_disconnect(*_a: Any) -> None:
            if not stop_counting[0]:
                dropped[0] += 1

        client.on("message", on_message)
        client.on("disconnect", on_disconnect)
        return client

    async def connect(client: socketio.AsyncClient, auth: dict[str, str] | None) -> None:
        await client.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=60)

    # Connect and join.
    t_connect = time.perf_counter()
    listeners = [listener(i) for i in range(n)]

    async def connect_and_join(i: int) -> None:
        await connect(listeners[i], listener_auth[i])
        ack = await listeners[i].call("join", {"room_id": room_id}, timeout=120)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"{server.name}: join refused for listener {i}: {ack!r}")

    sender = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    sent = [0]

    def sender_gone(*reason: Any) -> None:
        if not stop_counting[0]:
            res.notes.append(f"the sender was disconnected after {sent[0]} sends {reason}")

    sender.on("disconnect", sender_gone)
    try:
        await gather_limited(n, args.connect_concurrency, connect_and_join)
        await connect(sender, sender_auth)
        res.connect_s = time.perf_counter() - t_connect

        def message(body: str, client_id: str) -> dict[str, Any]:
            return {"room_id": room_id, "body": body, "kind": "note", "sensitivity": "room",
                    "client_id": client_id}  # fmt: skip

        # Warm-up and barrier: drains connect/join/presence traffic before measuring.
        tag = secrets.token_hex(4)
        for k in range(WARMUP):
            ack = await sender.call("message", message(f"warmup {k}", f"w-{tag}-{k}"), timeout=60)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"{server.name}: warm-up message refused: {ack!r}")
        deadline = time.perf_counter() + 120
        while len(arrivals) < n * WARMUP and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        if len(arrivals) < n * WARMUP:
            res.notes.append(f"warm-up: {len(arrivals)}/{n * WARMUP} delivered")
        await asyncio.sleep(0.2)
        arrivals.clear()

        # Measured: open-loop sending at `rate`, each body stamped with its send time.
        acks: list[tuple[int, float]] = []  # (message, send -> ack seconds)
        ack_errors = [0]

        def on_ack(i: int, t_send: float) -> Callable[..., None]:
            def done(answer: Any = None, *_rest: Any) -> None:
                acks.append((i, time.perf_counter() - t_send))
                if not (isinstance(answer, dict) and answer.get("ok")):
                    ack_errors[0] += 1

            return done

        profiler = start_profiler(server, n, m / rate + 1.0, args)
        if args.trace:
            await asyncio.to_thread(fetch_trace, server, True)
        # The client's own garbage collector must not pause the listeners mid-run.
        gc.collect()
        gc.freeze()
        gc.disable()
        cpu_server0 = server.cpu_seconds()
        machine0 = machine_busy_seconds()
        cpu_client0 = time.process_time()
        window0 = time.perf_counter()
        with LagMonitor() as lag:
            t0 = time.perf_counter() + 0.05
            first_send = t0
            for i in range(m):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                t_send = time.perf_counter()
                if i == 0:
                    first_send = t_send
                await sender.emit(
                    "message", message(f"bench {i} {t_send!r}", f"b-{tag}-{i}"),
                    callback=on_ack(i, t_send),
                )  # fmt: skip
                sent[0] = i + 1
            t_sent = time.perf_counter()

            # Drain: until everything arrived, or nothing more arrives for a while.
            expected = n * m
            seen, last_change = len(arrivals), time.perf_counter()
            while len(arrivals) < expected or len(acks) < m:
                await asyncio.sleep(0.02)
                now = time.perf_counter()
                if len(arrivals) + len(acks) != seen:
                    seen, last_change = len(arrivals) + len(acks), now
                elif now - last_change > args.drain_idle:
                    res.notes.append(f"stopped waiting: nothing arrived for {args.drain_idle}s")
                    break
                if now - t_sent > args.drain_max:
                    res.notes.append(f"stopped waiting after {args.drain_max}s")
                    break
        cpu_client = time.process_time() - cpu_client0
        gc.enable()
        gc.unfreeze()
        cpu_server = server.cpu_seconds() - cpu_server0
        cpu_machine = machine_busy_seconds() - machine0
        window = time.perf_counter() - window0
        stop_profiler(profiler)
        if args.trace:
            res.trace = await asyncio.to_thread(fetch_trace, server, False)
        res.loop_lag_max_ms = lag.max_lag * 1000

        # Results.
        latencies: list[float] = []
        keys: set[str] = set()
        last_recv = first_send
        for t_recv, tagged in arrivals:
            listener_i, _bench, msg_i, stamp = tagged.split(" ")
            key = f"{listener_i}/{msg_i}"
            if key in keys:
                res.duplicates += 1
                continue
            keys.add(key)
            latencies.append((t_recv - float(stamp)) * 1000)
            last_recv = max(last_recv, t_recv)
            if csv_rows is not None:
                csv_rows.append(
                    f"{server.name},{n},delivery,{msg_i},{listener_i},"
                    f"{float(stamp) - first_send:.6f},{latencies[-1]:.3f}"
                )
        if csv_rows is not None:
            csv_rows.extend(
                f"{server.name},{n},ack,{i},,,{dt * 1000:.3f}" for i, dt in sorted(acks)
            )
        latencies.sort()
        res.received = len(arrivals)
        res.lost = n * m - len(keys)
        res.wall = last_recv - first_send
        res.deliveries_per_s = len(keys) / res.wall if res.wall > 0 else float("nan")
        res.p50, res.p99 = pct(latencies, 0.50), pct(latencies, 0.99)
        res.pmax = latencies[-1] if latencies else float("nan")
        ack_ms = sorted(dt * 1000 for _i, dt in acks)
        res.ack_p50, res.ack_p99 = pct(ack_ms, 0.50), pct(ack_ms, 0.99)
        res.ack_errors = ack_errors[0] + (m - len(acks))
        res.server_cpu_ms_per_msg = cpu_server / m * 1000
        res.server_cpu_pct = cpu_server / window * 100
        res.client_cpu_pct = cpu_client / window * 100
        res.other_cpu_pct = (cpu_machine - cpu_server - cpu_client) / window * 100
        res.dropped_sockets = dropped[0]
    finally:
        stop_counting[0] = True
        everyone = [*listeners, sender]
        task = asyncio.current_task()
        interrupted = task is not None and task.cancelling() > 0
        await gather_limited(
            len(everyone), 100, lambda i: quietly_disconnect(everyone[i], 2 if interrupted else 10)
        )
        if not interrupted:
            await wait_quiet(server)  # its disconnect work must not overlap the next run
    return res


# --- optional profiling of our server (py-spy) -------------------------------------------------


def start_profiler(
    server: Server, n: int, seconds: float, args: argparse.Namespace
) -> list[subprocess.Popen[bytes]]:
    """py-spy on a server: `ours-N.txt` (`bare-N.txt`) samples every thread (time spent,
    waits included), `ours-N-gil.txt` only the thread holding the GIL (Python CPU)."""
    if not args.profile or server.proc is None:
        return []
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        log("--profile: py-spy not found (.venv/bin/pip install py-spy); not profiling")
        return []
    out_dir = Path(args.profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = server.name
    pid = server.proc.pid
    log(f"profiling {name} (pid {pid}) for {seconds:.0f}s into {out_dir}/{name}-{n}*.txt")
    cmd = [py_spy, "record", "-p", str(server.proc.pid), "-d", str(max(1, round(seconds))),
           "-r", "200", "--nonblocking", "-f", "raw"]  # fmt: skip
    return [
        subprocess.Popen([*cmd, *extra, "-o", str(out_dir / f"{name}-{n}{suffix}.txt")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for suffix, extra in (("", []), ("-gil", ["--gil"]))
    ]  # fmt: skip


def stop_profiler(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)


def profile_summary(path: Path, top: int = 25) -> str:
    """The frames most often on the stack (inclusive) in a py-spy raw file."""
    boilerplate = (
        "<frozen runpy>", "uvicorn/main.py", "uvicorn/server.py", "uvicorn/_compat",
        "workspace/cli.py", "threading.py:10", "asyncio/runners.py", "trace_ours.py",
    )  # fmt: skip
    total, inclusive = 0, dict[str, int]()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            if not any(b in frame for b in boilerplate):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
    lines = [f"{path.name}: {total} samples at 200/s; frames on the stack in most samples"]
    for frame, samples in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {samples / total * 100:5.1f}%  {frame}")
    return "\n".join(lines)


# --- report -------------------------------------------------------------------------------------


def fetch_trace(server: Server, reset: bool) -> dict[str, Any]:
    url = f"{server.url}/__bench/stats" + ("?reset=1" if reset else "")
    with urllib.request.urlopen(url, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def trace_table(r: Result) -> str:
    """Where a message's time went in our server (bench/trace_ours.py timers)."""
    assert r.trace is not None
    head = (
        f"{'timer':58} {'count':>6} {'/msg':>5} {'mean ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'ms/msg':>7}"
    )
    lines = [
        f"{r.server}, N={r.clients}: timers over the measured send ({r.messages} msgs); "
        f"objects tracked by the GC at the end: {r.trace.get('gc_tracked_objects', '?'):,} "
        f"(+ {r.trace.get('gc_frozen_objects', 0):,} frozen)",
        head,
    ]
    lines.append("-" * len(head))
    for name, t in sorted(r.trace["timers"].items()):
        lines.append(
            f"{name[:58]:58} {t['count']:>6} {t['count'] / r.messages:>5.1f} "
            f"{t['mean_ms']:>8.2f} {t['p99_ms']:>8.1f} {t['max_ms']:>8.1f} "
            f"{t['total_ms'] / r.messages:>7.2f}"
        )
    return "\n".join(lines)


def table(results: list[Result], target_clients: int) -> str:
    head = (
        f"{'server':6} {'N':>4} {'M':>4} {'rate':>5} {'deliv/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'lost':>6} {'ack p50':>8} {'ack p99':>8} "
        f"{'srvCPU ms/msg':>13} {'srvCPU%':>7} {'cliCPU%':>7} {'othCPU%':>7} {'lag ms':>7} "
        f"{'conn s':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.server:6} {r.clients:>4} {r.messages:>4} {r.rate:>5g} "
            f"{fmt(r.deliveries_per_s, 0):>8} {fmt(r.p50):>7} {fmt(r.p99):>7} "
            f"{fmt(r.pmax):>7} {r.lost:>6} {fmt(r.ack_p50):>8} {fmt(r.ack_p99):>8} "
            f"{fmt(r.server_cpu_ms_per_msg, 2):>13} {fmt(r.server_cpu_pct, 0):>7} "
            f"{fmt(r.client_cpu_pct, 0):>7} {fmt(r.other_cpu_pct, 0):>7} "
            f"{fmt(r.loop_lag_max_ms):>7} {fmt(r.connect_s):>6}"
        )
        for note in r.notes:
            lines.append(f"       ^ {note}")
        if r.duplicates or r.ack_errors or r.dropped_sockets:
            lines.append(
                f"       ^ duplicates {r.duplicates}, failed/missing acks {r.ack_errors}, "
                f"sockets dropped {r.dropped_sockets}"
            )
    lines.append("")
    sub = (
        f"{'N':>4} {'throughput ours/bare':>21} {'p99 ours/bare':>14} "
        f"{'ours p99 ms':>12} {'bare p99 ms':>12}  target"
    )
    lines += [sub, "-" * len(sub)]
    by = {(r.server, r.clients): r for r in results}
    for n in sorted({r.clients for r in results}):
        ours, bare = by.get(("ours", n)), by.get(("bare", n))
        if ours is None or bare is None:
            continue
        thr = ours.deliveries_per_s / bare.deliveries_per_s
        p99 = ours.p99 / bare.p99 if bare.p99 else float("nan")
        ok = thr >= 0.5 and ours.p99 <= 50 and ours.lost == 0
        verdict = ("MET" if ok else "MISSED") if n == target_clients else ("ok" if ok else "miss")
        lines.append(
            f"{n:>4} {fmt(thr, 2):>20}x {fmt(p99, 1):>13}x {fmt(ours.p99):>12} "
            f"{fmt(bare.p99):>12}  {verdict} (>= 0.5x throughput, p99 <= 50 ms, no loss)"
        )
    ours, bare = by.get(("ours", 50)), by.get(("bare", 50))
    if ours is not None and bare is not None and bare.server_cpu_ms_per_msg > 0:
        ratio = ours.server_cpu_ms_per_msg / bare.server_cpu_ms_per_msg
        lines.append(
            f"\nserver CPU per message at 50 listeners <= 2x the bare relay (issue #13): "
            f"{fmt(ours.server_cpu_ms_per_msg, 2)} / {fmt(bare.server_cpu_ms_per_msg, 2)} ms = "
            f"{fmt(ratio, 1)}x {'MET' if ratio <= 2 else 'MISSED'}"
        )
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", default="50,200,500", help="listener counts (default 50,200,500)")
    p.add_argument("--messages", "-m", type=int, default=200, help="messages per run (200)")
    p.add_argument("--rate", type=float, default=20.0, help="messages per second sent (20)")
    p.add_argument("--quick", action="store_true", help="N=50, M=50: a one-minute check")
    p.add_argument("--only", choices=("ours", "bare"), help="run one server only")
    p.add_argument("--connect-concurrency", type=int, default=25)
    p.add_argument("--drain-idle", type=float, default=5.0,
                   help="stop waiting when nothing arrives for this long (s)")  # fmt: skip
    p.add_argument("--drain-max", type=float, default=60.0,
                   help="stop waiting this long after the last send (s)")  # fmt: skip
    p.add_argument("--profile", metavar="DIR", help="py-spy each server while it is measured")
    p.add_argument(
        "--csv", metavar="FILE", help="write every delivery and ack (latency ms) to FILE"
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="run ours as bench/trace_ours.py (timers inside the server) and print them",
    )
    p.add_argument(
        "--whatif",
        metavar="SPEC",
        help="implies --trace: an experiment, e.g. one-writer, switch=0.001, gc-freeze, "
        "gc-freeze-at-start, gc-threshold=10000/50/100; comma-separated (bench/trace_ours.py)."
        " The numbers are then NOT the app as shipped",
    )
    p.add_argument(
        "--mark-read",
        action="store_true",
        help="listeners send `read` for every message they receive, like static/chat.js",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp data dir (and logs)")
    args = p.parse_args(argv)
    if args.whatif:
        args.trace = True
    if args.quick:
        args.clients, args.messages = "50", 50
    args.client_counts = sorted({int(x) for x in str(args.clients).split(",") if x.strip()})
    if not args.client_counts or min(args.client_counts) < 1 or max(args.client_counts) > 500:
        p.error("--clients: between 1 and 500")
    return args


async def measure(
    args: argparse.Namespace, servers: list[Server], room_id: str, tokens: list[str]
) -> list[Result]:
    results: list[Result] = []
    csv_rows: list[str] | None = [] if args.csv else None
    sender_token, listener_tokens = tokens[0], tokens[1:]
    for n in args.client_counts:
        for server in servers:
            ours = server.name == "ours"
            auth: list[dict[str, str] | None] = (
                [{"token": t} for t in listener_tokens[:n]] if ours else [None] * n
            )
            log(f"{server.name}: {n} listeners, {args.messages} messages at {args.rate:g}/s")
            r = await run_one(
                server, n, args.messages, args.rate, room_id, auth,
                {"token": sender_token} if ours else None, args, csv_rows,
            )  # fmt: skip
            log(
                f"  {fmt(r.deliveries_per_s, 0)} deliveries/s, p50 {fmt(r.p50)} ms, "
                f"p99 {fmt(r.p99)} ms, max {fmt(r.pmax)} ms, lost {r.lost}, "
                f"server CPU {fmt(r.server_cpu_ms_per_msg, 2)} ms/msg"
            )
            results.append(r)
    if args.csv and csv_rows is not None:
        header = "server,clients,what,message,listener,sent_at_s,latency_ms"
        Path(args.csv).write_text("\n".join([header, *csv_rows]) + "\n")
        log(f"wrote {len(csv_rows)} rows to {args.csv}")
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="caseroom-bench-"))
    servers: list[Server] = []
    try:
        with cleanup_on_signals():
            env = bench_env(tmp / "data")
            started = time.perf_counter()
            log(f"data dir {tmp}: caseroom init + demo")
            prepare_database(env)
            users = max(args.client_counts) + 1
            log(f"adding {users} bench users (members of {ROOM_CHILD!r}'s room, one token each)")
            room_id, tokens = add_bench_users(env, users)
            ours_port, bare_port = free_port(), free_port()
            ours = Server(
                "ours",
                [sys.executable, str(BENCH / "trace_ours.py"), "--port", str(ours_port)]
                if args.trace
                else caseroom_cmd("serve", "--port", str(ours_port)),
                ours_port,
                tmp / "ours.log",
                {**env, "CASEROOM_BENCH_WHATIF": args.whatif or ""},
            )
            bare = Server(
                "bare",
                [sys.executable, str(BENCH / "trace_ours.py"), "--bare", "--port", str(bare_port)]
                if args.trace
                else bare_relay_cmd(bare_port),
                bare_port, tmp / "bare.log", {**env, "CASEROOM_BENCH_WHATIF": args.whatif or ""},
            )  # fmt: skip
            servers = [s for s in (bare, ours) if args.only in (None, s.name)]
            for s in servers:
                s.start()
            for s in servers:
                s.wait_ready()
                log(f"{s.name} server up on {s.url} (pid {s.proc.pid if s.proc else '?'})")
            log(f"setup took {time.perf_counter() - started:.1f}s; load average {os.getloadavg()}")
            results = run_loop(measure(args, servers, room_id, tokens))
            print()
            print(
                f"Chat fan-out, one room, {args.messages} messages at {args.rate:g}/s "
                f"({os.cpu_count()} CPUs; client loop: {loop_name()}); times in ms"
            )
            print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
            if args.mark_read:
                print("--mark-read: every listener sent `read` for every message it received")
            if args.trace:
                print("ran under bench/trace_ours.py (timers add a little overhead)")
            if args.whatif:
                print(f"WHAT-IF {args.whatif!r}: an experiment, NOT the app as shipped")
            print(table(results, target_clients=500))
            for path in sorted(Path(args.profile).glob("*-*.txt")) if args.profile else []:
                print()
                print(profile_summary(path))
            for r in results:
                if r.trace is not None:
                    print()
                    print(trace_table(r))
            log(f"total {time.perf_counter() - started:.0f}s")
            for s in servers:
                errors = [ln for ln in s.log_tail(2000).splitlines() if "Traceback" in ln]
                if errors:
                    log(f"{s.name}: {len(errors)} traceback(s) in its log ({s.log_path})")
        return 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted; stopping servers")
        return 130
    finally:
        for s in servers:
            s.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
