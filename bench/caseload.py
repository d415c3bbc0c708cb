"""A local authority's load: many small rooms, everyone connected, posting rate stepped up.

    .venv/bin/python bench/caseload.py                       # 300 rooms x 7: bare, ours
    .venv/bin/python bench/caseload.py --rooms 60 --step-seconds 5     # a quick look
    .venv/bin/python bench/caseload.py --scale 2             # + 1 and 2 processes, PG + Redis

What it does (bench/README.md, "caseload.py", explains how to read the tables):

1. Seeds a fresh database (`caseroom init`, `caseroom demo`), then --rooms rooms opened by
   rooms.create_room (each with its plan), each with --members members. Bench users are
   inserted directly (one shared password hash) and each is in 1 to 3 rooms; each gets an
   API token (accounts.create_token) and a few get a browser session for the page probe.
2. For each configuration (the bare relay, ours on SQLite, and with --scale N ours on a
   scratch PostgreSQL database with Redis as 1 and as N `caseroom serve` processes) it
   starts the servers and --client-procs client processes. Every membership is one socket
   (a room page open in a tab): it connects with its user's token and emits `join` for its
   room. Sockets are spread round-robin over the servers and the client processes.
3. Steps: each step posts at an aggregate rate for --step-seconds, open loop, each message
   from a random socket to its own room, its body stamped with time.monotonic() (one clock
   for all processes on Linux). Every socket records when each message reached it; the
   step waits until every member of the room has every message (or gives up), then the
   clients report back. The rate goes up by --factor until p99 send->receive exceeds
   --p99-limit ms or a message is lost (or refused).
4. While ours runs, a separate thread GETs room pages (/rooms/{id}) with a member's session
   cookie and records the time to the first byte.

Everything started here is stopped, and the temp dir and scratch database removed, on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import socketio
from harness import (
    BENCH_ORG,
    LagMonitor,
    Server,
    bare_relay_cmd,
    bench_env,
    caseroom_cmd,
    cleanup_on_signals,
    die_with_parent,
    fmt,
    free_port,
    gather_limited,
    insert_users,
    load_average,
    log,
    loop_name,
    machine_busy_seconds,
    pct,
    prepare_database,
    quietly_disconnect,
    run_loop,
    scratch_database,
    tokens_for,
    wait_settled,
)

# --- the world: rooms, members, tokens --------------------------------------------------------


@dataclass
class World:
    database: str  # "sqlite" or "postgresql"
    env: dict[str, str]
    room_ids: list[str]
    users: int
    sockets: list[tuple[str, str]]  # (API token, room id): one per membership
    pages: list[tuple[str, str]]  # (session cookie, room id) for the room-page probe


def assign(rooms: int, members: int, rng: random.Random) -> list[list[int]]:
    """Each person's rooms (1 to 3, distinct) until every room has `members` people."""
    room_space = [members] * rooms
    open_rooms = list(range(rooms))
    people: list[list[int]] = []
    while open_rooms:
        chosen = rng.sample(open_rooms, min(rng.choice((1, 2, 3)), len(open_rooms)))
        for r in chosen:
            room_space[r] -= 1
        open_rooms = [r for r in open_rooms if room_space[r] > 0]
        people.append(chosen)
    return people


def seed_world(env: dict[str, str], rooms: int, members: int, page_users: int) -> World:
    from sqlmodel import select

    from workspace.access import Access, Origin
    from workspace.models import Membership, Organisation
    from workspace.schemas import ChildIn, RoomIn
    from workspace.services import accounts
    from workspace.services import rooms as room_service
    from workspace.settings import Settings
    from workspace.state import Caseroom

    app = Caseroom.build(Settings.from_env(env))
    people = assign(rooms, members, random.Random(13))
    try:
        with app.db.session() as session:
            org = session.exec(select(Organisation).where(Organisation.name == BENCH_ORG)).one()
            now = app.clock.now()
            users, _password = insert_users(session, org.id, len(people), now, prefix="load")
            lead_of: dict[int, int] = {}
            for person, their_rooms in enumerate(people):
                for r in their_rooms:
                    lead_of.setdefault(r, person)
            room_ids: list[str] = []
            for r in range(rooms):  # through the service: the room, its plan, the audit row
                lead = users[lead_of[r]]
                child = ChildIn(
                    name=f"Bench Child {r:04d}", date_of_birth=date(2014, 1, 1) + timedelta(days=r)
                )
                view = room_service.create_room(
                    Access(app, session, lead, Origin("cli")), RoomIn(child=child)
                )
                room_ids.append(view.room.id)
                if r % 50 == 49:
                    session.commit()
            session.add_all(
                Membership(
                    room_id=room_ids[r],
                    user_id=users[person].id,
                    role="member",
                    joined_at=now,
                    purpose="bench",
                    lawful_basis="safeguarding",
                )
                for person, their_rooms in enumerate(people)
                for r in their_rooms
                if lead_of[r] != person
            )
            session.flush()
            tokens = tokens_for(app, session, users)
            pages = [
                (accounts.start_session(app, session, users[p], mfa_ok=True).token, room_ids[r])
                for p in range(min(page_users, len(people)))
                for r in people[p][:1]
            ]
            session.commit()
    finally:
        app.db.dispose()
    # Sockets room by room, so that round-robin spreads each room over servers and clients.
    by_room: dict[int, list[int]] = {}
    for person, their_rooms in enumerate(people):
        for r in their_rooms:
            by_room.setdefault(r, []).append(person)
    sockets = [(tokens[p], room_ids[r]) for r in range(rooms) for p in by_room[r]]
    database = "postgresql" if env["CASEROOM_DATABASE_URL"].startswith("postgres") else "sqlite"
    return World(database, env, room_ids, len(people), sockets, pages)


# --- client processes -------------------------------------------------------------------------


@dataclass
class SocketSpec:
    index: int  # in World.sockets
    url: str
    token: str | None  # None: the bare relay (anonymous)
    room_id: str


def client_process(conn: Connection, wid: int, specs: list[SocketSpec], concurrency: int) -> None:
    """A client process: holds its sockets, sends its share of each step, reports back."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    run_loop(Clients(conn, wid, specs, concurrency).serve())


class Clients:
    def __init__(
        self, conn: Connection, wid: int, specs: list[SocketSpec], concurrency: int
    ) -> None:
        self.conn, self.wid, self.specs, self.concurrency = conn, wid, specs, concurrency
        self.arrivals: list[tuple[float, int, str]] = []  # (monotonic, socket, body)
        self.dropped = 0
        self.closing = False
        self.clients = [self._client(s) for s in specs]
        self.acks: list[float] = []
        self.ack_errors = 0
        self.sent = 0
        self.step_tag = ""
        self.t_step = 0.0
        self.cpu0 = 0.0
        self.lag: LagMonitor | None = None

    def _client(self, spec: SocketSpec) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        append, clock, index = self.arrivals.append, time.monotonic, spec.index

        def on_message(data: Any) -> None:
            append((clock(), index, str(data.get("body", ""))))

        def on_disconnect(*_a: Any) -> None:
            if not self.closing:
                self.dropped += 1

        client.on("message", on_message)
        client.on("disconnect", on_disconnect)
        return client

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command, arg = await loop.run_in_executor(None, self.conn.recv)
            if command == "connect":
                self.conn.send(await self.connect())
            elif command == "step":
                self.conn.send(await self.step(*arg))
            elif command == "drain":
                self.conn.send(await self.drain(*arg))
            elif command == "close":
                self.closing = True
                await gather_limited(
                    len(self.clients), 50, lambda i: quietly_disconnect(self.clients[i], 10)
                )
                self.conn.send({})
                return

    async def connect(self) -> dict[str, Any]:
        errors: list[str] = []
        t0 = time.monotonic()

        retries: list[str] = []

        async def one(i: int) -> None:
            spec = self.specs[i]
            auth = {"token": spec.token} if spec.token else None
            for attempt in range(3):  # a busy server may drop a handshake; a browser retries
                client = self.clients[i]
                try:
                    await client.connect(
                        spec.url, auth=auth, transports=["websocket"], wait_timeout=60
                    )
                    ack = await client.call("join", {"room_id": spec.room_id}, timeout=120)
                except Exception as exc:
                    retries.append(f"{type(exc).__name__}: {exc}")
                    await quietly_disconnect(client, 5)
                    self.clients[i] = self._client(spec)
                    if attempt == 2:
                        errors.append(retries[-1])
                        return
                    await asyncio.sleep(1)
                    continue
                if not (isinstance(ack, dict) and ack.get("ok")):
                    errors.append(f"join refused: {ack!r}")
                return

        await gather_limited(len(self.clients), self.concurrency, one)
        return {"seconds": time.monotonic() - t0, "errors": errors, "retries": retries}

    async def step(
        self, tag: str, step: int, count: int, seconds: float, t_start: float, phase: float
    ) -> dict[str, Any]:
        """Send `count` messages evenly over `seconds` from t_start (open loop; `phase`
        staggers the client processes); answer what went where and how late the sends
        were. `tag` (the same in every client process) starts each body and client_id."""
        self.step_tag = tag
        self.acks, self.ack_errors, self.sent = [], 0, 0
        rng = random.Random(step * 1000 + self.wid)
        rooms: Counter[str] = Counter()
        # Our own garbage collector must not stall the sockets mid-step.
        gc.collect()
        gc.freeze()
        gc.disable()
        self.cpu0 = time.process_time()
        self.t_step = time.monotonic()
        self.lag = LagMonitor().__enter__()
        first = last = time.monotonic()
        late = 0.0
        for i in range(count):
            planned = t_start + (i + phase) * seconds / count
            delay = planned - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            late = max(late, time.monotonic() - planned)
            k = rng.randrange(len(self.clients))
            spec, client = self.specs[k], self.clients[k]
            t_send = time.monotonic()
            if i == 0:
                first = t_send
            body = f"{self.step_tag}{self.wid}-{i} {t_send!r}"
            data = {
                "room_id": spec.room_id,
                "body": body,
                "kind": "note",
                "sensitivity": "room",
                "client_id": body.split(" ")[0],
            }
            try:
                await client.emit("message", data, callback=self._on_ack(t_send))
            except Exception:
                self.ack_errors += 1
                continue
            self.sent += 1
            rooms[spec.room_id] += 1
            last = t_send
        return {"sent": self.sent, "rooms": dict(rooms), "first": first, "last": last, "late": late}

    def _on_ack(self, t_send: float) -> Any:
        def done(answer: Any = None, *_rest: Any) -> None:
            self.acks.append(time.monotonic() - t_send)
            posted = isinstance(answer, dict) and answer.get("ok")
            # ours says created False when it took the post for a retry: not posted again
            if not posted or answer.get("created") is False:
                self.ack_errors += 1

        return done

    async def drain(self, expected: int, idle: float, limit: float) -> dict[str, Any]:
        """Wait for this process's `expected` deliveries and our acks, then report."""
        tag = self.step_tag

        def mine() -> int:
            return sum(1 for a in self.arrivals if a[2].startswith(tag))

        seen, last_change, started = -1, time.monotonic(), time.monotonic()
        note = ""
        while True:
            got = mine()
            if got >= expected and len(self.acks) >= self.sent:
                break
            now = time.monotonic()
            if got + len(self.acks) != seen:
                seen, last_change = got + len(self.acks), now
            elif now - last_change > idle:
                note = f"nothing arrived for {idle:g}s"
                break
            if now - started > limit:
                note = f"gave up {limit:g}s after the sends"
                break
            await asyncio.sleep(0.05)
        window = time.monotonic() - self.t_step
        cpu = time.process_time() - self.cpu0
        lag = self.lag.max_lag if self.lag else float("nan")
        if self.lag:
            self.lag.__exit__()
        gc.enable()
        gc.unfreeze()
        latencies: list[float] = []
        keys: set[tuple[int, str]] = set()
        duplicates, last_recv = 0, 0.0
        for t_recv, index, body in self.arrivals:
            if not body.startswith(tag):
                continue
            name, stamp = body.split(" ")
            if (index, name) in keys:
                duplicates += 1
                continue
            keys.add((index, name))
            latencies.append((t_recv - float(stamp)) * 1000)
            last_recv = max(last_recv, t_recv)
        self.arrivals.clear()
        return {
            "latencies": latencies,
            "duplicates": duplicates,
            "last_recv": last_recv,
            "acks": [a * 1000 for a in self.acks],
            "ack_errors": self.ack_errors + max(0, self.sent - len(self.acks)),
            "cpu": cpu,
            "window": window,
            "lag": lag,
            "dropped": self.dropped,
            "note": note,
        }


# --- the room-page probe ---------------------------------------------------------------------


class PageProbe(threading.Thread):
    """GETs room pages as their members, one after another every `interval` seconds, and
    records the time to the first byte (the status line and headers) of each."""

    def __init__(self, servers: Sequence[Server], pages: list[tuple[str, str]], interval: float):
        super().__init__(daemon=True)
        self.servers, self.pages, self.interval = servers, pages, interval
        self.samples: list[tuple[float, float, int]] = []  # (monotonic at start, ms, status)
        self.halt = threading.Event()

    def run(self) -> None:
        conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=30) for s in self.servers]
        i = 0
        while not self.halt.is_set():
            cookie, room_id = self.pages[i % len(self.pages)]
            conn = conns[i % len(conns)]
            i += 1
            t0 = time.monotonic()
            try:
                conn.request(
                    "GET", f"/rooms/{room_id}", headers={"Cookie": f"caseroom_session={cookie}"}
                )
                answer = conn.getresponse()
                ttfb = (time.monotonic() - t0) * 1000
                answer.read()
                self.samples.append((t0, ttfb, answer.status))
            except (OSError, http.client.HTTPException):
                self.samples.append((t0, float("nan"), 0))
                conn.close()
            self.halt.wait(max(0.0, self.interval - (time.monotonic() - t0)))
        for conn in conns:
            conn.close()

    def between(self, start: float, end: float) -> tuple[list[float], int]:
        """TTFBs (ms, sorted) of requests started in [start, end], and how many failed."""
        inside = [(ms, status) for t, ms, status in self.samples if start <= t <= end]
        good = sorted(ms for ms, status in inside if status == 200)
        return good, len(inside) - len(good)


# --- one configuration ----------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    sent: int = 0
    send_rate: float = float("nan")
    send_late_ms: float = float("nan")  # the latest send against its schedule
    deliveries: int = 0
    expected: int = 0
    deliveries_per_s: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    pmax: float = float("nan")
    ack_p99: float = float("nan")
    ack_errors: int = 0
    duplicates: int = 0
    server_cpu_ms_per_msg: float = float("nan")
    server_cpu_pct: float = float("nan")
    client_cpu_pct: float = float("nan")  # all client processes, % of one CPU
    client_cpu_max_pct: float = float("nan")  # the busiest client process
    client_lag_ms: float = float("nan")
    other_cpu_pct: float = float("nan")
    page_p50: float = float("nan")
    page_p99: float = float("nan")
    pages: int = 0
    page_errors: int = 0
    dropped: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - self.deliveries

    def passed(self, limit: float) -> bool:
        return self.p99 <= limit and self.lost == 0 and self.ack_errors == 0 and self.sent > 0

    @property
    def client_bound(self) -> bool:
        """The client, not the server, may have set the pace of this step."""
        return self.client_cpu_max_pct >= 90 or self.client_lag_ms >= 50 or self.send_late_ms >= 100


@dataclass
class Config:
    name: str
    title: str
    world: World
    processes: int
    redis_url: str | None = None
    steps: list[Step] = field(default_factory=list)
    connect_s: float = float("nan")
    connect_retries: int = 0
    # Unique per run: ours stores a repeated client_id once, as the retry it would be.
    tag: str = field(default_factory=lambda: f"{random.randrange(16**8):08x}")
    peak_rss_mb: list[float] = field(default_factory=list)
    tracebacks: int = 0
    failure: str = ""
    idle_cpu_pct: float = float("nan")  # the servers' background CPU with everyone connected

    @property
    def bare(self) -> bool:
        return self.name == "bare"

    def best(self, limit: float) -> Step | None:
        """The last step that held (steps go up until one fails)."""
        held = [s for s in self.steps if s.passed(limit)]
        return held[-1] if held else None


def make_servers(cfg: Config, tmp: Path) -> list[Server]:
    servers = []
    for k in range(cfg.processes):
        port = free_port()
        log_path = tmp / f"{cfg.name}-{k}.log"
        if cfg.bare:
            servers.append(Server(cfg.name, bare_relay_cmd(port), port, log_path, cfg.world.env))
            continue
        env = dict(cfg.world.env)
        if cfg.redis_url:
            env["CASEROOM_REDIS_URL"] = cfg.redis_url
        cmd = caseroom_cmd("serve", "--port", str(port))
        servers.append(Server(f"{cfg.name}[{k}]", cmd, port, log_path, env))
    return servers


def run_config(cfg: Config, args: argparse.Namespace, tmp: Path) -> None:
    world = cfg.world
    servers = make_servers(cfg, tmp)
    workers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    probe: PageProbe | None = None
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()
        log(f"{cfg.name}: {len(servers)} server(s) up: {', '.join(s.url for s in servers)}")
        # Round-robin: a room's members land on different servers and client processes.
        specs: list[list[SocketSpec]] = [[] for _ in range(args.client_procs)]
        worker_of: list[int] = []
        for i, (token, room_id) in enumerate(world.sockets):
            server = servers[i % len(servers)]
            w = i % args.client_procs
            specs[w].append(SocketSpec(i, server.url, None if cfg.bare else token, room_id))
            worker_of.append(w)
        sockets_in: list[Counter[str]] = [Counter() for _ in specs]
        for i, (_token, room_id) in enumerate(world.sockets):
            sockets_in[worker_of[i]][room_id] += 1
        ctx = multiprocessing.get_context("spawn")
        for w, mine in enumerate(specs):
            ours, theirs = ctx.Pipe()
            proc: multiprocessing.process.BaseProcess = ctx.Process(
                target=client_process, args=(theirs, w, mine, args.connect_concurrency),
                daemon=True, name=f"caseload-client-{w}",
            )  # fmt: skip
            proc.start()
            workers.append((proc, ours))
        log(f"{cfg.name}: connecting {len(world.sockets):,} sockets from {len(workers)} processes")
        t0 = time.monotonic()
        for _proc, conn in workers:
            conn.send(("connect", None))
        answers = [conn.recv() for _proc, conn in workers]
        cfg.connect_s = time.monotonic() - t0
        errors = [e for a in answers for e in a["errors"]]
        cfg.connect_retries = sum(len(a["retries"]) for a in answers)
        if cfg.connect_retries:
            log(
                f"{cfg.name}: {cfg.connect_retries} connects retried, e.g. "
                f"{[r for a in answers for r in a['retries']][:2]}"
            )
        if errors:
            raise SystemExit(f"{cfg.name}: {len(errors)} sockets failed to connect: {errors[:3]}")
        log(f"{cfg.name}: connected and joined in {cfg.connect_s:.1f}s; waiting for quiet")
        cfg.idle_cpu_pct = wait_settled(servers, 120)
        if not cfg.bare and world.pages and args.page_interval > 0:
            probe = PageProbe(servers, world.pages, args.page_interval)
            probe.start()
        if args.warmup_rate > 0:
            # Each server's first messages and pages pay once for what every later one
            # reuses (compiled statements and templates, remembered decisions and people);
            # a first step of a handful of messages would measure only that.
            warm = run_step(-1, args.warmup_rate, cfg, servers, workers, sockets_in, probe, args)
            log(f"{cfg.name}: warm-up at {args.warmup_rate} msg/s (not counted): p99 "
                f"{fmt(warm.p99)} ms, lost {warm.lost}, refused {warm.ack_errors}")  # fmt: skip
            wait_settled(servers, 30)
        rate = args.start_rate
        for k in range(args.steps):
            step = run_step(k, rate, cfg, servers, workers, sockets_in, probe, args)
            cfg.steps.append(step)
            log(
                f"{cfg.name}: {rate:7.1f} msg/s -> sent {fmt(step.send_rate)}/s, p50 "
                f"{fmt(step.p50)} p99 {fmt(step.p99)} ms, lost {step.lost}, refused "
                f"{step.ack_errors}, server {fmt(step.server_cpu_ms_per_msg, 2)} ms/msg, "
                f"clients {fmt(step.client_cpu_pct, 0)}% lag {fmt(step.client_lag_ms)} ms, "
                f"page p99 {fmt(step.page_p99)} ms; load {load_average()}"
            )
            if not step.passed(args.p99_limit):
                break
            rate *= args.factor
            wait_settled(servers, 30)
        cfg.peak_rss_mb = [s.memory_mb("VmHWM") for s in servers]
    finally:
        if probe is not None:
            probe.halt.set()
            probe.join(timeout=40)
        for proc, conn in workers:
            try:
                conn.send(("close", None))
                if conn.poll(60):
                    conn.recv()
            except (OSError, EOFError):
                pass
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
        cfg.tracebacks = sum(s.tracebacks() for s in servers)
        for s in servers:
            s.stop()


def run_step(
    k: int,
    rate: float,
    cfg: Config,
    servers: list[Server],
    workers: list[tuple[multiprocessing.process.BaseProcess, Connection]],
    sockets_in: list[Counter[str]],
    probe: PageProbe | None,
    args: argparse.Namespace,
) -> Step:
    step = Step(rate)
    total = len(cfg.world.sockets)
    cpu0 = sum(s.cpu_seconds() for s in servers)
    machine0 = machine_busy_seconds()
    t0 = time.monotonic()
    t_start = t0 + 1.0  # every client process starts on the same instant (after its gc)
    # round(rate x seconds) messages in all, shared out by sockets (largest remainder).
    # At least --min-messages: a p99 over a handful of deliveries is just their maximum.
    seconds = max(args.step_seconds, args.min_messages / rate)
    wanted = max(1, round(rate * seconds))
    exact = [wanted * sum(sockets_in[w].values()) / total for w in range(len(workers))]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(workers)), key=lambda w: counts[w] - exact[w])
    for w in by_remainder[: wanted - sum(counts)]:
        counts[w] += 1
    for w, (_proc, conn) in enumerate(workers):
        phase = w / len(workers)
        command = (f"{cfg.tag}s{k}-", k, counts[w], seconds, t_start, phase)
        conn.send(("step", command))
    sent = [conn.recv() for _proc, conn in workers]
    rooms: Counter[str] = Counter()
    for answer in sent:
        rooms.update(answer["rooms"])
    step.sent = sum(a["sent"] for a in sent)
    last = max((a["last"] for a in sent if a["sent"]), default=t_start)
    # On schedule, the last send is within the step's seconds; behind it, later.
    step.send_rate = step.sent / max(seconds, last - t_start)
    step.send_late_ms = max(a["late"] for a in sent) * 1000
    for w, (_proc, conn) in enumerate(workers):
        expected = sum(n * sockets_in[w][room] for room, n in rooms.items())
        step.expected += expected
        conn.send(("drain", (expected, args.drain_idle, args.drain_max)))
    results = [conn.recv() for _proc, conn in workers]
    t1 = time.monotonic()
    window = t1 - t0
    cpu_server = sum(s.cpu_seconds() for s in servers) - cpu0
    cpu_machine = machine_busy_seconds() - machine0
    latencies = sorted(x for r in results for x in r["latencies"])
    acks = sorted(x for r in results for x in r["acks"])
    step.deliveries = len(latencies)
    step.duplicates = sum(r["duplicates"] for r in results)
    last_recv = max((r["last_recv"] for r in results), default=0.0)
    if last_recv > t_start:
        step.deliveries_per_s = step.deliveries / max(seconds, last_recv - t_start)
    step.p50, step.p99 = pct(latencies, 0.5), pct(latencies, 0.99)
    step.pmax = latencies[-1] if latencies else float("nan")
    step.ack_p99 = pct(acks, 0.99)
    step.ack_errors = sum(r["ack_errors"] for r in results)
    step.server_cpu_ms_per_msg = cpu_server / max(step.sent, 1) * 1000
    step.server_cpu_pct = cpu_server / window * 100
    cpu_clients = sum(r["cpu"] for r in results)
    step.client_cpu_pct = cpu_clients / window * 100
    step.client_cpu_max_pct = max(r["cpu"] / r["window"] * 100 for r in results)
    step.client_lag_ms = max(r["lag"] for r in results) * 1000
    step.other_cpu_pct = (cpu_machine - cpu_server - cpu_clients) / window * 100
    step.dropped = max(r["dropped"] for r in results)
    step.notes = sorted({r["note"] for r in results if r["note"]})
    if probe is not None:
        good, failed = probe.between(t0, t1)
        step.page_p50, step.page_p99 = pct(good, 0.5), pct(good, 0.99)
        step.pages, step.page_errors = len(good), failed
    return step


# --- report -------------------------------------------------------------------------------------


def steps_table(cfg: Config, limit: float) -> str:
    head = (
        f"{'rate/s':>7} {'sent/s':>7} {'deliv/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'lost':>5} {'refused':>7} {'ack p99':>7} {'srv ms/msg':>10} {'srvCPU%':>7} "
        f"{'cliCPU%':>7} {'cli max%':>8} {'lag ms':>6} {'othCPU%':>7} {'page p50':>8} "
        f"{'page p99':>8} {'pages':>5}  held"
    )
    lines = [head, "-" * len(head)]
    for s in cfg.steps:
        held = "yes" if s.passed(limit) else "NO"
        if s.client_bound:
            held += " (client-bound?)"
        lines.append(
            f"{s.rate:>7.1f} {fmt(s.send_rate):>7} {fmt(s.deliveries_per_s, 0):>8} "
            f"{fmt(s.p50):>7} {fmt(s.p99):>7} {fmt(s.pmax):>7} {s.lost:>5} {s.ack_errors:>7} "
            f"{fmt(s.ack_p99):>7} {fmt(s.server_cpu_ms_per_msg, 2):>10} "
            f"{fmt(s.server_cpu_pct, 0):>7} {fmt(s.client_cpu_pct, 0):>7} "
            f"{fmt(s.client_cpu_max_pct, 0):>8} {fmt(s.client_lag_ms, 0):>6} "
            f"{fmt(s.other_cpu_pct, 0):>7} {fmt(s.page_p50):>8} {fmt(s.page_p99):>8} "
            f"{s.pages:>5}  {held}"
        )
        extras = list(s.notes)
        if s.duplicates or s.dropped or s.page_errors:
            extras.append(
                f"duplicates {s.duplicates}, sockets dropped {s.dropped}, "
                f"failed page loads {s.page_errors}"
            )
        lines += [f"        ^ {e}" for e in extras]
    return "\n".join(lines)


def summary(configs: list[Config], limit: float) -> str:
    head = (
        f"{'configuration':34} {'procs':>5} {'sustained msg/s':>15} {'deliv/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'srv ms/msg':>10} {'peak RSS MB':>14} "
        f"{'page p50':>8} {'page p99':>8} {'connect s':>9}"
    )
    lines = [head, "-" * len(head)]
    for cfg in configs:
        best = cfg.best(limit)
        rss = "+".join(f"{m:.0f}" for m in cfg.peak_rss_mb) or "-"
        if best is None:
            first = "< " + fmt(cfg.steps[0].rate) if cfg.steps else "-"
            lines.append(
                f"{cfg.title:34} {cfg.processes:>5} {first:>15} {'':>8} {'':>7} {'':>7} "
                f"{'':>10} {rss:>14}"
            )
            continue
        lines.append(
            f"{cfg.title:34} {cfg.processes:>5} {fmt(best.send_rate):>15} "
            f"{fmt(best.deliveries_per_s, 0):>8} {fmt(best.p50):>7} {fmt(best.p99):>7} "
            f"{fmt(best.server_cpu_ms_per_msg, 2):>10} {rss:>14} {fmt(best.page_p50):>8} "
            f"{fmt(best.page_p99):>8} {fmt(cfg.connect_s):>9}"
        )
        if best.client_bound:
            lines.append(
                "    ^ the client may have set this pace (see cli max% / lag): a lower bound"
            )
        last = cfg.steps[-1]
        if last is not best:
            reasons = [
                f"p99 {fmt(last.p99)} ms" if last.p99 > limit else "",
                f"lost {last.lost}" if last.lost else "",
                f"refused {last.ack_errors}" if last.ack_errors else "",
            ]
            why = ", ".join(x for x in reasons if x)
            lines.append(f"    ^ next step ({last.rate:.1f} msg/s) failed: {why}")
        elif len(cfg.steps):
            lines.append("    ^ every step held: raise --steps or --start-rate to find the limit")
        if cfg.tracebacks:
            lines.append(f"    ^ {cfg.tracebacks} traceback(s) in the server log(s)")
    return "\n".join(lines)


def sustained(cfg: Config | None, limit: float) -> float:
    best = cfg.best(limit) if cfg else None
    return best.send_rate if best else (0.0 if cfg and cfg.steps else float("nan"))


def targets(configs: list[Config], limit: float) -> str:
    by = {c.name: c for c in configs}
    lines = []

    def verdict(name: str, have: float, base: float, factor: float, note: str = "") -> None:
        if have != have or base != base or base == 0:
            lines.append(f"{name}: not measured in this run")
            return
        ratio = have / base
        met = "MET" if ratio >= factor else "MISSED"
        lines.append(
            f"{name}: {have:.1f} / {base:.1f} msg/s = {ratio:.2f}x (target >= {factor:g}x) "
            f"{met}{note}"
        )

    bare, ours = by.get("bare"), by.get("ours")
    verdict(
        f"one process sustains >= 0.5x the bare relay at p99 <= {limit:g} ms",
        sustained(ours, limit), sustained(bare, limit), 0.5,
        " (bare is client-bound: a lower bound for bare, so the ratio is an upper bound)"
        if bare and bare.best(limit) and bare.best(limit).client_bound  # type: ignore[union-attr]
        else "",
    )  # fmt: skip
    scaled = [c for c in configs if c.name.startswith("pg") and c.processes > 1]
    one = by.get("pg1")
    for cfg in scaled:
        verdict(
            f"{cfg.processes} processes over Redis and PostgreSQL sustain >= 1.7x one "
            "process (same database and Redis)",
            sustained(cfg, limit), sustained(one, limit), 1.7,
        )  # fmt: skip
        if ours is not None:
            have, base = sustained(cfg, limit), sustained(ours, limit)
            if base and base == base:
                lines.append(f"   (against one process on SQLite: {have / base:.2f}x)")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rooms", type=int, default=300, help="rooms (300)")
    p.add_argument("--members", type=int, default=7, help="members per room (7)")
    p.add_argument("--start-rate", type=float, default=0.5, help="first step, msg/s (0.5)")
    p.add_argument("--factor", type=float, default=1.5, help="each step's rate x this (1.5)")
    p.add_argument("--steps", type=int, default=18, help="at most this many steps (18)")
    p.add_argument("--step-seconds", type=float, default=10.0, help="sending per step (10)")
    p.add_argument("--min-messages", type=int, default=20,
                   help="a slow step lasts long enough to send this many (20)")  # fmt: skip
    p.add_argument("--warmup-rate", type=float, default=5.0,
                   help="a first step at this rate, not counted (5; 0: none)")  # fmt: skip
    p.add_argument("--p99-limit", type=float, default=100.0, help="a step holds if p99 <= (100)")
    p.add_argument("--scale", type=int, default=1,
                   help="N > 1: also 1 and N processes over PostgreSQL + Redis")  # fmt: skip
    p.add_argument("--only", help="comma-separated: bare, ours, pg1, pgN (default: all)")
    p.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server for --scale (a scratch database is made on it)",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--client-procs", type=int, default=2, help="client processes (2)")
    p.add_argument("--connect-concurrency", type=int, default=10, help="per client process")
    p.add_argument("--page-interval", type=float, default=1.0,
                   help="seconds between room-page requests (1; 0: none)")  # fmt: skip
    p.add_argument("--page-users", type=int, default=20, help="members with a browser session")
    p.add_argument("--drain-idle", type=float, default=3.0,
                   help="a step stops waiting when nothing arrives for this long (s)")  # fmt: skip
    p.add_argument("--drain-max", type=float, default=30.0,
                   help="a step stops waiting this long after its sends (s)")  # fmt: skip
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = p.parse_args(argv)
    names = ["bare", "ours"] + (["pg1", f"pg{args.scale}"] if args.scale > 1 else [])
    wanted = [x.strip() for x in args.only.split(",")] if args.only else names
    wanted = [f"pg{args.scale}" if x == "pgN" else x for x in wanted]
    if unknown := [x for x in wanted if x not in names]:
        p.error(f"--only: unknown {unknown} (have {names})")
    args.configs = [x for x in names if x in wanted]
    if args.rooms < 1 or args.members < 1 or args.client_procs < 1 or args.factor <= 1:
        p.error("--rooms, --members, --client-procs >= 1 and --factor > 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="caseroom-caseload-"))
    configs: list[Config] = []
    started = time.monotonic()
    try:
        with cleanup_on_signals():
            worlds: dict[str, World] = {}
            if {"bare", "ours"} & set(args.configs):
                env = bench_env(tmp / "sqlite")
                log(f"SQLite in {tmp}: caseroom init + demo, {args.rooms} rooms x {args.members}")
                prepare_database(env)
                worlds["sqlite"] = seed_world(env, args.rooms, args.members, args.page_users)
            pg_wanted = [c for c in args.configs if c.startswith("pg")]
            with scratch_database(args.database_url if pg_wanted else None, tmp) as pg_url:
                if pg_wanted:
                    env = bench_env(tmp / "pg", pg_url)
                    log(f"PostgreSQL scratch database: init + demo, {args.rooms} rooms")
                    prepare_database(env)
                    worlds["pg"] = seed_world(env, args.rooms, args.members, args.page_users)
                log(f"seeded in {time.monotonic() - started:.0f}s; load average {load_average()}")
                for name in args.configs:
                    if name == "bare":
                        cfg = Config(name, "bare relay (1 process)", worlds["sqlite"], 1)
                    elif name == "ours":
                        cfg = Config(name, "ours, SQLite (1 process)", worlds["sqlite"], 1)
                    else:
                        n = int(name[2:])
                        title = f"ours, PostgreSQL + Redis ({n} process{'es' if n > 1 else ''})"
                        cfg = Config(name, title, worlds["pg"], n, args.redis_url)
                    configs.append(cfg)
                    try:
                        run_config(cfg, args, tmp)
                    except (SystemExit, OSError, EOFError) as exc:  # report what we have
                        cfg.failure = f"{type(exc).__name__}: {exc}"[:300]
                        log(f"{name}: failed: {cfg.failure}")
            report(configs, args, started)
        return 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted; stopping servers and clients")
        if configs:
            report(configs, args, started)
        return 130
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report(configs: list[Config], args: argparse.Namespace, started: float) -> None:
    world = configs[0].world
    print()
    print(
        f"Caseload: {len(world.room_ids)} rooms x {args.members} members = "
        f"{len(world.sockets):,} sockets ({world.users:,} users, each in 1-3 rooms); steps of "
        f"{args.step_seconds:g}s from {args.start_rate:g} msg/s x{args.factor:g}; a step holds "
        f"if p99 <= {args.p99_limit:g} ms with nothing lost or refused"
    )
    print(
        f"{os.cpu_count()} CPUs, {args.client_procs} client processes ({loop_name()}), "
        f"load average (1, 5, 15 min) at the end: {load_average()}; "
        f"total {time.monotonic() - started:.0f}s"
    )
    for cfg in configs:
        print()
        print(
            f"{cfg.title}: {len(cfg.world.sockets):,} sockets, connect+join "
            f"{fmt(cfg.connect_s)}s ({cfg.connect_retries} connects retried); servers' CPU "
            f"with everyone connected, nobody posting: {fmt(cfg.idle_cpu_pct, 0)}% of one CPU"
        )
        print(steps_table(cfg, args.p99_limit))
        if cfg.failure:
            print(f"  ^ this configuration failed: {cfg.failure}")
    print()
    print(summary(configs, args.p99_limit))
    print()
    print(targets(configs, args.p99_limit))


if __name__ == "__main__":
    sys.exit(main())
