"""The access log at scale (issue #12): a year of audit events, then the manager's pages
and the export. Prints numbers.

    .venv/bin/python bench/access_log.py [--events 1000000]             # SQLite (a temp file)
    .venv/bin/python bench/access_log.py --pg postgresql://postgres@127.0.0.1:5432/postgres

1. A scratch database (bench/policy_and_audit.py's), migrated, with the demo; then
   `--events` audit events spread over the past year, written in bulk (core INSERTs of
   `--batch` rows) but chained as the writer chains them: each MAC is computed with the
   app's own `audit.canonical` and `Keys.audit_mac`, so `caseroom audit verify` holds.
   Visits are 1 to 6 events under one request id; about a third of the events are sign-ins
   and other events with no room.
2. Through the service (`audit_log.list_visits`, as Mark, a team manager, each page
   audited as in the app): the filtered first page (one practitioner, one month), the first
   page unfiltered, a deep page (a cursor half-way down the log) unfiltered and filtered to
   denied events — each with the chain verified over the records it shows, as the page
   does — and the manager's flags (their home counts them). Best and median of `--repeat`
   runs against the 300 ms target, and the query plans.
3. The export (`audit_log.export_csv`, streamed) in a fresh interpreter each: the peak RSS
   of exporting one month and of exporting the whole log, beside that of a process that
   only read one page, to show that the export's memory does not grow with its length.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from harness import scratch_database  # noqa: E402
from sqlalchemy import insert, text, update  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from workspace import audit  # noqa: E402
from workspace.access import Access, Origin  # noqa: E402
from workspace.cli import migrate  # noqa: E402
from workspace.models import AuditEvent, AuditHead, Room, User  # noqa: E402
from workspace.pagination import Page, encode_cursor  # noqa: E402
from workspace.services import audit_log, demo, flags  # noqa: E402
from workspace.settings import Settings, _normalise_database_url  # noqa: E402
from workspace.state import Caseroom  # noqa: E402

PAGE_TARGET_MS = 300  # issue #12: the filtered first page and a deep page, each
MANAGER = "mark.manager@council.example"
PRACTITIONER = "sarah.social@council.example"
ROOM_ACTIONS = ("view", "list_members", "list_messages", "join", "read_sharing_record",
                "download_file", "view_plan", "post_message")  # fmt: skip
OTHER_ACTIONS = ("login", "logout", "list_rooms", "list_notices")


def settings_for(url: str, data_dir: Path, secret: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=_normalise_database_url(url), secret_key=secret)


# --- 1. a year of events -----------------------------------------------------------------------


def generate(app: Caseroom, count: int, batch: int, denied_share: float) -> None:
    rng = random.Random(12)
    with app.db.session() as session:
        users = list(session.exec(select(User)).all())
        rooms = [r.id for r in session.exec(select(Room)).all()]
        head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
        seq, mac = head.seq, head.mac
    end = app.clock.now() - timedelta(minutes=1)
    start = end - timedelta(days=365)
    step = (end - start) / count
    key_id = app.keys.key_id
    written, began = 0, time.perf_counter()

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal seq, mac
        i = 0
        while i < count:
            actor = rng.choice(users)
            size = rng.randint(1, 6)
            request = uuid.uuid4().hex
            room = rng.choice(rooms) if rng.random() < 0.7 else None
            denied = rng.random() < denied_share
            for j in range(min(size, count - i)):
                seq += 1
                action = (ROOM_ACTIONS if room else OTHER_ACTIONS)[
                    0 if j == 0 else rng.randrange(1, 4)
                ]
                fields: dict[str, Any] = {
                    "seq": seq, "id": str(uuid.uuid4()), "at": start + step * i,
                    "actor_id": actor.id, "actor_org_id": actor.organisation_id,
                    "actor_team_id": actor.team_id, "action": action,
                    "resource_type": "room" if room else "workspace", "resource_id": room,
                    "room_id": room, "child_id": None,
                    "outcome": "denied" if denied else "allowed", "purpose": None,
                    "channel": "web", "request_id": request, "ip": "10.0.0.1",
                    "user_agent": "bench", "key_id": key_id, "prev_mac": mac,
                }  # fmt: skip
                fields["mac"] = mac = app.keys.audit_mac(
                    mac,
                    audit.canonical(SimpleNamespace(**fields)),  # type: ignore[arg-type]
                )
                i += 1
                yield fields

    buffer: list[dict[str, Any]] = []
    for row in rows():
        buffer.append(row)
        if len(buffer) == batch:
            written += _flush(app, buffer, seq, mac)
            buffer = []
            if written % (batch * 50) == 0:
                print(f"  {written:,} events, {written / (time.perf_counter() - began):,.0f}/s")
    written += _flush(app, buffer, seq, mac)
    elapsed = time.perf_counter() - began
    print(f"generated {written:,} events in {elapsed:.1f} s ({written / elapsed:,.0f}/s)")
    with app.db.session() as session:
        if app.db.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE audit_event"))
        else:
            session.execute(text("ANALYZE"))
        session.commit()


def _flush(app: Caseroom, rows: list[dict[str, Any]], seq: int, mac: str) -> int:
    if not rows:
        return 0
    last = rows[-1]
    with app.db.session() as session:
        session.execute(insert(AuditEvent), rows)
        session.execute(
            update(AuditHead).where(col(AuditHead.id) == 1).values(seq=last["seq"], mac=last["mac"])
        )
        session.commit()
    return len(rows)


# --- 2. the pages ------------------------------------------------------------------------------


def as_manager(app: Caseroom, fn: Any) -> Any:
    with app.db.session() as session:
        mark = session.exec(select(User).where(User.email == MANAGER)).one()
        access = Access(app, session, mark, Origin("web", uuid.uuid4().hex))
        result = fn(access)
        session.commit()
        return result


def time_page(app: Caseroom, label: str, params: dict[str, str], cursor: str | None,
              repeat: int) -> None:  # fmt: skip
    filters = audit_log.AuditFilters.parse(params)
    samples, checks, shown = [], [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        page, span, check = as_manager(app, lambda a: shown_page(a, filters, cursor))
        samples.append(time.perf_counter() - began)
        checks.append(check)
        shown = sum(len(v.rows) for v in page.items)
    median = statistics.median(samples)
    checked = "no records" if span is None else (
        f"chain {'intact' if span.ok else 'BROKEN'} over {span.first_seq}–{span.last_seq}, "
        f"{'walked' if span.walked else 'shown records linked + span counted'}"
    )  # fmt: skip
    print(
        f"{label:<46} best {min(samples) * 1e3:7.1f} ms  median "
        f"{median * 1e3:7.1f} ms  ({shown} events, {len(page.items)} visits; {checked}: "
        f"{statistics.median(checks) * 1e3:.1f} ms of it)  "
        f"target < {PAGE_TARGET_MS} ms: {'met' if median * 1e3 < PAGE_TARGET_MS else 'MISSED'}"
    )


def shown_page(
    access: Access, filters: audit_log.AuditFilters, cursor: str | None
) -> tuple[Page[audit_log.Visit], audit.SpanResult | None, float]:
    """What the /audit page does: a page of visits, then the chain over what it shows
    (and how long that check took)."""
    page = audit_log.list_visits(access, filters, cursor=cursor, limit=100)
    began = time.perf_counter()
    span = audit_log.verify_shown(access, page.items)
    return page, span, time.perf_counter() - began


def time_flags(app: Caseroom, repeat: int) -> None:
    """The manager's flags (their home counts them on every visit)."""
    samples, count = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        count = len(as_manager(app, flags.list_flags))
        samples.append(time.perf_counter() - began)
    median = statistics.median(samples)
    print(
        f"{'flags, the manager’s rooms, last 14 days':<46} best {min(samples) * 1e3:7.1f} ms  "
        f"median {median * 1e3:7.1f} ms  ({count} flags)  target < {PAGE_TARGET_MS} ms: "
        f"{'met' if median * 1e3 < PAGE_TARGET_MS else 'MISSED'}"
    )


def query_plan(app: Caseroom, params: dict[str, str]) -> None:
    filters = audit_log.AuditFilters.parse(params)

    def plan(access: Access) -> list[str]:
        query = audit_log.events_query(access, filters).limit(101)
        if app.db.engine.dialect.name == "sqlite":
            compiled = query.compile(app.db.engine, compile_kwargs={"literal_binds": True})
            found = access.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            return [str(r[-1]) for r in found]
        compiled = query.compile(app.db.engine, compile_kwargs={"render_postcompile": True})
        found = access.session.connection().exec_driver_sql(
            f"EXPLAIN (COSTS OFF) {compiled}", compiled.params
        )
        return [str(r[0]).strip() for r in found]

    print("  query plan:", "; ".join(as_manager(app, plan)))


# --- 3. the export's memory --------------------------------------------------------------------


def export_in_child(url: str, data_dir: str, secret: str, params: dict[str, str],
                    export: bool) -> tuple[int, int, float, int]:  # fmt: skip
    """(rows, bytes, seconds, peak RSS in KiB) of one export (or one page) in this process."""
    app = Caseroom.build(settings_for(url, Path(data_dir), secret))
    filters = audit_log.AuditFilters.parse(params)
    began = time.perf_counter()
    rows = size = 0
    try:
        if export:
            for chunk in as_manager(app, lambda a: audit_log.export_csv(a, filters)):
                size += len(chunk)
                rows += chunk.count("\n")
        else:
            as_manager(app, lambda a: audit_log.list_visits(a, filters, limit=100))
    finally:
        app.db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rows, size, time.perf_counter() - began, peak


def export_memory(url: str, data_dir: Path, secret: str, month: dict[str, str]) -> None:
    ctx = multiprocessing.get_context("spawn")
    for label, params, export in (
        ("one page, no export (baseline)", {}, False),
        ("export of one month", month, True),
        ("export of the whole log", {}, True),
    ):
        with ctx.Pool(1) as pool:  # a fresh interpreter for each
            rows, size, seconds, rss = pool.apply(
                export_in_child, (url, str(data_dir), secret, params, export)
            )
            what = f"{rows:,} lines, {size / 2**20:.0f} MiB in {seconds:.1f} s" if export else ""
            print(f"{label:<34} peak RSS {rss / 1024:6.1f} MiB   {what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--denied", type=float, default=0.002, help="share of visits denied")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to run on")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-") as tmp:
        workdir = Path(tmp)
        secret = uuid.uuid4().hex * 2
        with scratch_database(args.pg, workdir) as url:
            settings = settings_for(url, workdir, secret)
            migrate(settings.database_url)
            app = Caseroom.build(settings)
            try:
                demo.seed(app)
                dialect = app.db.engine.dialect
                print(
                    f"Caseroom access-log bench — {dialect.name}, --events {args.events:,} "
                    f"--denied {args.denied}, "
                    f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
                    f"{os.getloadavg()[0]:.1f}"
                )
                generate(app, args.events, args.batch, args.denied)
                today = app.clock.now().date()
                month = {
                    "person": PRACTITIONER,
                    "from": (today - timedelta(days=200)).isoformat(),
                    "to": (today - timedelta(days=170)).isoformat(),
                }
                with app.db.session() as session:
                    top = session.exec(select(AuditHead).where(AuditHead.id == 1)).one().seq
                deep = encode_cursor(app.keys, top // 2)
                print("\nThe manager's pages (100 events, grouped into visits; audited):")
                time_page(app, "first page, one practitioner, one month", month, None,
                          args.repeat)  # fmt: skip
                query_plan(app, month)
                time_page(app, "first page, unfiltered", {}, None, args.repeat)
                time_page(app, "deep page (half-way), unfiltered", {}, deep, args.repeat)
                time_page(app, "deep page (half-way), denied only", {"outcome": "denied"},
                          deep, args.repeat)  # fmt: skip
                query_plan(app, {"outcome": "denied"})
                time_page(app, "deep page (half-way), one practitioner",
                          {"person": PRACTITIONER}, deep, args.repeat)  # fmt: skip
                time_flags(app, args.repeat)
            finally:
                app.db.dispose()
            print("\nThe export (each in a fresh process):")
            export_memory(url, workdir, secret, month)
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
