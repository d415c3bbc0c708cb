"""What the need-to-know policy and the audit chain cost (DESIGN.md §8). Prints numbers.

    .venv/bin/python bench/policy_and_audit.py                       # SQLite (a temp file)
    .venv/bin/python bench/policy_and_audit.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres  # PostgreSQL

With --database-url the bench creates its own scratch database on that server (and drops
it afterwards); the database named in the URL is only used to do that. The data is the
demo (`caseroom demo`), seeded through the real services.

(a) policy decisions per second on the policy matrix's mix (every demo user x every room,
    message and the workspace x every action the policy knows), uncached and cached, one
    thread, against the target of issue #13 (>= 20,000/s);
(b) the cost of building a principal from the database;
(c) the cost the audit write adds to a request: N authorised reads of a room
    (Access.room + commit), with the real append, then with the append made a no-op;
(d) audit appends per second (a commit per row, and batched) and verify speed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Run against the checkout this file is in, not whatever `workspace` is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import scratch_database
from sqlalchemy import event
from sqlmodel import select

from policy.authorizer import POLICY_DIR, Authorizer
from policy.subjects import WORKSPACE, MessageFact, Principal, RoomFact
from workspace import audit
from workspace.access import Access, Origin
from workspace.audit import Recorded
from workspace.cli import migrate
from workspace.facts import message_fact, principal_for, room_fact
from workspace.models import Message, Room, User
from workspace.services import demo
from workspace.settings import Settings, _normalise_database_url
from workspace.state import Caseroom

APPEND_FIELDS: dict[str, Any] = {
    "action": "bench",
    "resource_type": "bench",
    "outcome": "allowed",
    "channel": "cli",
}


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    """Per-operation wall times, in seconds."""

    samples: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def ms(self) -> str:
        return (
            f"mean {self.mean * 1e3:7.3f} ms   p50 {self.pct(50) * 1e3:7.3f} ms   "
            f"p99 {self.pct(99) * 1e3:7.3f} ms   (n={len(self.samples)})"
        )


def timed(fn: Callable[[], object], n: int) -> Timings:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Timings(samples)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:12,.0f}/s"


def heading(text: str) -> None:
    print(f"\n{text}\n{'-' * len(text)}")


# --- a scratch deployment --------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    users: list[User]
    principals: list[Principal]
    rooms: list[RoomFact]
    messages: list[MessageFact]


def load_world(app: Caseroom) -> World:
    with app.db.session() as session:
        now = app.clock.now()
        users = list(session.exec(select(User).order_by(User.email)).all())
        principals = [principal_for(session, u, now) for u in users]
        leads = {u.id: u for u in users}
        rooms = {r.id: room_fact(r, leads[r.lead_user_id]) for r in session.exec(select(Room))}
        messages = [message_fact(m, rooms[m.room_id]) for m in session.exec(select(Message))]
    return World(users, principals, list(rooms.values()), messages)


# --- (a) policy decisions --------------------------------------------------------------------

TARGET_DECISIONS = 20_000  # issue #13: effective decisions per second on the matrix's mix
TARGET_AUDIT_MS = 1.0  # what the audit write may add to a request, at p50


def policy_actions() -> dict[str, tuple[str, ...]]:
    """Every action the policy knows, by resource (the `permissions` of caseroom.polar)."""
    text = (POLICY_DIR / "caseroom.polar").read_text()
    blocks = re.findall(r"resource (\w+) \{\s*permissions = \[(.*?)\];", text, re.S)
    return {name: tuple(re.findall(r'"(\w+)"', body)) for name, body in blocks}


def matrix_mix(world: World, principals: list[Principal]) -> list[tuple[Principal, str, Any]]:
    """The policy matrix's questions (tests/test_policy_matrix.py): every demo user against
    every room, message and the workspace, for every action the policy knows of each."""
    actions = policy_actions()
    targets: list[tuple[str, Any]] = [
        *((a, room) for room in world.rooms for a in actions["Room"]),
        *((a, msg) for msg in world.messages for a in actions["Message"]),
        *((a, WORKSPACE) for a in actions["Caseroom"]),
    ]
    return [(p, a, r) for p in principals for a, r in targets]


def decisions_per_second(
    authorizer: Authorizer, rounds: list[list[tuple[Principal, str, Any]]], seconds: float
) -> tuple[float, int]:
    """Ask round after round (cycling) for `seconds`; decisions per second, and how many
    were allowed in one round."""
    allowed = sum(authorizer.is_allowed(p, a, r) for p, a, r in rounds[0])
    n, i, start = 0, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for p, a, r in rounds[i % len(rounds)]:
            authorizer.is_allowed(p, a, r)
        n += len(rounds[i % len(rounds)])
        i += 1
    return n / elapsed, allowed


def bench_policy(world: World, seconds: float) -> None:
    heading("(a) policy decisions on the matrix's mix, one thread")
    mix = matrix_mix(world, world.principals)
    print(
        f"mix: {len(world.principals)} users x ({len(world.rooms)} rooms, "
        f"{len(world.messages)} messages, the workspace) x every action the policy knows "
        f"= {len(mix)} questions a round"
    )
    fresh = Authorizer(cache=False)
    cold, allowed = decisions_per_second(fresh, [mix], seconds)
    print(f"uncached (a Polar query each):       {cold:12,.0f}/s   ({allowed} allowed a round)")

    # As the app asks: each request builds its own principal (a new object, a later
    # moment), so a remembered answer is found by value, and each principal's key is
    # computed on its first question. 200 rounds, one second apart.
    rebuilt = [
        matrix_mix(world, [replace(p, now_ts=p.now_ts + i) for p in world.principals])
        for i in range(200)
    ]
    cached = Authorizer()
    rate_cached, cached_allowed = decisions_per_second(cached, rebuilt, seconds)
    assert cache_stats(cached) and cached_allowed == allowed
    print(f"cached, a new principal a request:  {rate_cached:12,.0f}/s   ({cache_stats(cached)})")
    same, _ = decisions_per_second(cached, [mix], seconds)
    print(f"cached, the same principal objects: {same:12,.0f}/s")
    verdict = "met" if rate_cached >= TARGET_DECISIONS else "missed"
    print(
        f"target >= {TARGET_DECISIONS:,}/s effective (cached, a new principal a request): "
        f"{verdict} ({rate_cached / cold:,.0f}x uncached; load average "
        f"{os.getloadavg()[0]:.1f})"
    )


def cache_stats(authorizer: Authorizer) -> str:
    cache = authorizer.cache
    assert cache is not None
    return f"{cache.hits:,} hits, {cache.misses:,} misses, {len(cache):,} remembered"


# --- (b) principals --------------------------------------------------------------------------


def bench_principal(app: Caseroom, world: World, n: int) -> None:
    heading("(b) building a principal from the database (principal_for)")
    users = world.users
    with app.db.session() as session:
        now = app.clock.now()
        i = iter(range(10**9))
        warm = timed(lambda: principal_for(session, users[next(i) % len(users)], now), 50)
        del warm
        one_session = timed(lambda: principal_for(session, users[next(i) % len(users)], now), n)
        session.rollback()
    print(f"in an open session:      {one_session.ms()}")

    def with_session() -> None:
        with app.db.session() as s:
            principal_for(s, users[next(i) % len(users)], now)
            s.rollback()

    fresh = timed(with_session, n)
    print(f"with its own session:    {fresh.ms()}")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        with app.db.session() as s:
            principal_for(s, users[0], now)
            s.rollback()
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)
    memberships = sum(len(p.memberships) for p in world.principals)
    print(
        f"({len(users)} demo users, {memberships} memberships between them; "
        f"{len(statements)} SQL statements a principal; Access builds one a request)"
    )


# --- (c) the audit write per request ---------------------------------------------------------


def bench_audit_per_request(app: Caseroom, world: World, n: int, rounds: int) -> None:
    heading("(c) an authorised read of a room (Access.room + commit), with and without audit")
    room = world.rooms[0]
    reader = next(
        u for u, p in zip(world.users, world.principals, strict=True)
        if app.authorizer.is_allowed(p, "view", room)
    )  # fmt: skip
    real_record = app.audit.record

    def noop_record(_session: Any, **fields: Any) -> Recorded:
        return Recorded(at=app.clock.now(), **fields)  # nothing queued, nothing written

    def read_room(samples: list[float]) -> None:
        with app.db.session() as session:
            origin = Origin("api", uuid.uuid4().hex, "127.0.0.1", "caseroom-bench")
            access = Access(app, session, reader, origin)  # principal built, not timed
            start = time.perf_counter()
            access.room(room.id)
            session.commit()
            samples.append(time.perf_counter() - start)

    with_audit: list[float] = []
    without: list[float] = []
    per_round = max(1, n // rounds)
    for _ in range(20):  # warm up both paths
        read_room([])
    # Alternate rounds, so drift (caches, the WAL growing) hits both sides alike.
    for _ in range(rounds):
        app.audit.record = real_record  # type: ignore[method-assign]
        for _ in range(per_round):
            read_room(with_audit)
        app.audit.record = noop_record  # type: ignore[method-assign]
        for _ in range(per_round):
            read_room(without)
    app.audit.record = real_record  # type: ignore[method-assign]
    a, b = Timings(with_audit), Timings(without)
    print(f"with the audit append:   {a.ms()}")
    print(f"append made a no-op:     {b.ms()}")
    print(
        f"added by the audit write: mean {(a.mean - b.mean) * 1e3:+.3f} ms   "
        f"p50 {(a.pct(50) - b.pct(50)) * 1e3:+.3f} ms   p99 {(a.pct(99) - b.pct(99)) * 1e3:+.3f} ms"
    )
    added_p50 = (a.pct(50) - b.pct(50)) * 1e3
    print(
        f"target <= {TARGET_AUDIT_MS:g} ms added to a request at p50 (issue #13): "
        f"{added_p50:+.3f} ms {'MET' if added_p50 <= TARGET_AUDIT_MS else 'MISSED'}"
    )


# --- (d) the chain: appends and verify -------------------------------------------------------


def bench_chain(app: Caseroom, commit_each: int, batched: int, batch_size: int) -> None:
    heading("(d) the audit chain")

    def append_and_commit() -> None:
        with app.db.session() as session:
            app.audit.record(session, **APPEND_FIELDS)  # written by the commit
            session.commit()

    one_by_one = timed(append_and_commit, commit_each)
    total = sum(one_by_one.samples)
    print(f"append, commit per row:  {rate(commit_each, total)}   {one_by_one.ms()}")

    start = time.perf_counter()
    done = 0
    with app.db.session() as session:
        while done < batched:
            for _ in range(min(batch_size, batched - done)):
                app.audit.record(session, **APPEND_FIELDS)
                done += 1
            session.commit()
    elapsed = time.perf_counter() - start
    print(f"append, {batch_size} per commit: {rate(batched, elapsed)}")

    with app.db.session() as session:
        start = time.perf_counter()
        result = audit.verify(session, app.keys, app.audit.witness)
        elapsed = time.perf_counter() - start
    assert result.ok, result
    print(
        f"verify:                  {rate(result.checked, elapsed)}   "
        f"({result.checked:,} rows in {elapsed:.2f} s)"
    )


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to make a scratch database on (default: SQLite, temp file)",
    )
    parser.add_argument("--policy-seconds", type=float, default=1.5, help="per variant in (a)")
    parser.add_argument("--principals", type=int, default=500, help="principals built in (b)")
    parser.add_argument("--reads", type=int, default=1000, help="room reads per side in (c)")
    parser.add_argument("--appends", type=int, default=2000, help="appends, a commit each")
    parser.add_argument("--batched", type=int, default=20_000, help="appends, batched")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-") as tmp:
        workdir = Path(tmp)
        with scratch_database(args.database_url, workdir) as url:
            settings = Settings(
                data_dir=workdir,
                database_url=_normalise_database_url(url),
                secret_key=uuid.uuid4().hex * 2,
            )
            migrate(settings.database_url)
            app = Caseroom.build(settings)
            try:
                demo.seed(app)
                world = load_world(app)
                dialect = app.db.engine.dialect
                version = ".".join(str(v) for v in dialect.server_version_info or ())
                print(
                    f"Caseroom bench — {dialect.name} {version}, Python "
                    f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
                    f"{os.getloadavg()[0]:.1f} (numbers scale with it)"
                )
                print(
                    f"demo: {len(world.users)} users, {len(world.rooms)} rooms, "
                    f"{len(world.messages)} messages"
                )
                bench_policy(world, args.policy_seconds)
                bench_principal(app, world, args.principals)
                bench_audit_per_request(app, world, args.reads, rounds=10)
                bench_chain(app, args.appends, args.batched, args.batch_size)
            finally:
                app.db.dispose()
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
