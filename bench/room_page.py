"""The room page with a long conversation (issue #13): time to first byte and the whole
answer of GET /rooms/{id}, with the SQL statements and audit events each visit costs.
Prints numbers and the target.

    .venv/bin/python bench/room_page.py [--messages 150] [--requests 200] [--others 50]
    .venv/bin/python bench/room_page.py --profile 20      # where the time goes, in-process

1. A temporary data dir, migrated, with the demo; then `--messages` messages in Jamie's
   room posted through the real service (workspace/services/messages.py: real rows, real
   audit) by the four members in turn, of every kind, one in seven restricted, one in five
   a reply; Holly (housing) joins as a guest half-way; the members mark what they read
   (read receipts to show).
2. `caseroom serve` in a child process. `--files` encrypted files shared in the room with
   the Python client (workspace/client) by Sarah and Hana, who made keys, as did Pete;
   Dan publishes keys only afterwards, so each file he may read offers holders to wrap
   it for him (the room page works that out per file). Browser sessions (cookies) for
   Sarah (the lead), Pete (a member, police) and Holly (the guest). Each GET /rooms/{id}
   over one keep-alive connection: time to first byte (the status line) and to the last
   byte. `--requests` for Sarah, whose page is the heaviest (the lead's tools),
   `--others` for each of the others.
   Target (issue #13): p50 time to first byte ≤ 100 ms, p99 ≤ 250 ms, on an idle machine.
3. In-process (the same ASGI app, called directly on this thread): SQL statements per
   visit, and the audit events each visit writes, by action. `--profile N`: cProfile over
   N visits by Sarah, the service work run on this thread so the profile sees all of it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.client
import io
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from workspace.access import Access, Origin  # noqa: E402
from workspace.cli import migrate  # noqa: E402
from workspace.client import files as client_files  # noqa: E402
from workspace.client.http import Api  # noqa: E402
from workspace.models import AuditEvent, Message, Room, User  # noqa: E402
from workspace.schemas import MemberIn, MessageIn  # noqa: E402
from workspace.services import accounts, demo, members, messages  # noqa: E402
from workspace.settings import Settings, _normalise_database_url  # noqa: E402
from workspace.state import Caseroom  # noqa: E402
from workspace.web import SESSION_COOKIE  # noqa: E402

SARAH = "sarah.social@council.example"
PETE = "pete.police@police.example"
HANA = "hana.health@nhs.example"
DAN = "dan.dsl@oakfield.example"
HOLLY = "holly.housing@homes.example"
AUTHORS = (SARAH, DAN, HANA, PETE)
KINDS = ("fact", "opinion", "decision", "note")
TARGET_P50_MS, TARGET_P99_MS = 100.0, 250.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} {five:.2f}"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- 1. the room ------------------------------------------------------------------------------


def as_user(app: Caseroom, session: Any, email: str) -> Access:
    user = session.exec(select(User).where(User.email == email)).one()
    return Access(app, session, user, Origin("cli"), purpose="bench")


def seed(app: Caseroom, count: int) -> str:
    """Jamie's room with `count` more messages; returns its id."""
    demo.seed(app)
    with app.db.session() as session:
        room_id = session.exec(select(Room.id).where(col(Room.title).startswith("Jamie"))).one()
        posted: list[Message] = []
        for i in range(count):
            if i == count // 2:
                members.add_member(
                    as_user(app, session, SARAH), room_id,
                    MemberIn(email=HOLLY, role="guest",
                             expires_at=app.clock.now() + timedelta(days=60),
                             purpose="Housing: tenancy support for the family",
                             lawful_basis="safeguarding", consent="given"),
                )  # fmt: skip
                session.commit()
            email = AUTHORS[i % len(AUTHORS)]
            access = as_user(app, session, email)
            restricted = i % 7 == 3
            # A reply answers an earlier open message that is not itself a reply.
            roots = [m for m in posted[-20:] if m.sensitivity == "room" and not m.thread_id]
            thread = roots[i % len(roots)].id if i % 5 == 4 and roots else None
            body = (
                f"Entry {i + 1}: " + "Spoke with the family about the plan and next steps; "
                * (1 + i % 4) + (f" @{AUTHORS[(i + 1) % 4].split('@')[0]}" if i % 9 == 0 else "")
            )  # fmt: skip
            data = MessageIn.model_validate({
                "body": body, "kind": KINDS[i % 4],
                "sensitivity": "restricted" if restricted and not thread else "room",
                **({"thread_id": thread} if thread else {}),
            })  # fmt: skip
            view, _ = messages.post_message(access, room_id, data)
            session.commit()
            posted.append(view.message)
        # Read receipts: each member has read some way down the conversation.
        for email, upto in ((PETE, 0.9), (HANA, 0.6), (DAN, 1.0), (HOLLY, 1.0), (SARAH, 1.0)):
            mine = as_user(app, session, email)
            readable = session.exec(
                select(Message.id).where(mine.messages_filter(mine.room(room_id)))
                .order_by(col(Message.seq))
            ).all()  # fmt: skip
            messages.mark_read(mine, readable[max(0, round(len(readable) * upto) - 1)])
            session.commit()
        return str(room_id)


def cookies(app: Caseroom) -> dict[str, str]:
    """A signed-in browser session (second factor done) for each person timed."""
    out = {}
    with app.db.session() as session:
        for email in (SARAH, PETE, HOLLY):
            user = session.exec(select(User).where(User.email == email)).one()
            out[email] = accounts.start_session(app, session, user, mfa_ok=True).token
        session.commit()
    return out


def share_files(url: str, app: Caseroom, room_id: str, count: int, workdir: Path) -> None:
    """`count` files put in the room by Sarah and Hana (one in four restricted); Dan
    publishes his keys afterwards."""
    with app.db.session() as session:
        tokens = {}
        for email in (SARAH, HANA, PETE, DAN):
            user = session.exec(select(User).where(User.email == email)).one()
            tokens[email] = accounts.create_token(as_user(app, session, email), user, "bench")
        session.commit()
    keys = {}
    for email in (SARAH, HANA, PETE):
        keys[email] = client_files.keys_init(Api(url, tokens[email]), workdir / f"{email}.key",
                                             "bench passphrase 123")  # fmt: skip
    for i in range(count):
        who = (SARAH, HANA)[i % 2]
        plain = workdir / f"notes-{i + 1}.txt"
        plain.write_bytes(os.urandom(2000 + 500 * i))
        client_files.put(Api(url, tokens[who]), room_id, plain, keys[who],
                         sensitivity="restricted" if i % 4 == 3 else "room")  # fmt: skip
    client_files.keys_init(Api(url, tokens[DAN]), workdir / "dan.key", "bench passphrase 123")


# --- 2. over HTTP -----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Visits = tuple[list[float], list[float], int, float]


def time_visits(port: int, path: str, token: str, n: int, pid: int) -> Visits:
    """Time to first byte and to the last byte of `n` GETs over one keep-alive connection,
    the page's size and the server's CPU seconds per visit (less at the mercy of whatever
    else the machine runs than the wall clock)."""
    cpu = cpu_seconds(pid)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"{SESSION_COOKIE}={token}", "User-Agent": "bench/room_page"}
    first, whole, size = [], [], 0
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        ttfb = time.perf_counter() - start
        body = response.read()
        done = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}: {body[:300]!r}")
        first.append(ttfb)
        whole.append(done)
        size = len(body)
    conn.close()
    return first, whole, size, (cpu_seconds(pid) - cpu) / n


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "workspace.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return server
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)


# --- 3. in-process ----------------------------------------------------------------------------


def asgi_get(asgi: Any, path: str, token: str) -> tuple[int, bytes]:
    """One GET through the ASGI app on this thread's event loop."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench/room_page"),
                    (b"cookie", f"{SESSION_COOKIE}={token}".encode())],
    }  # fmt: skip
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    asyncio.run(asgi(scope, receive, send))
    return status, b"".join(chunks)


def in_process(app: Caseroom, path: str, tokens: dict[str, str], profile: int) -> None:
    import workspace.web
    from workspace.app import create_app

    # The unit of work runs on this thread (not the thread pool), so that cProfile and the
    # statement counter see it; nothing else of the app changes.
    async def here(fn: Any, *args: Any) -> Any:
        return fn(*args)

    setattr(workspace.web, "run_in_threadpool", here)  # noqa: B010
    asgi = create_app(caseroom=app)
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(app.db.engine, "before_cursor_execute", count)
    # Questions put to the policy (Oso queries), counted by wrapping this process's
    # authorizer: a number the machine's load does not change.
    asked: Counter[str] = Counter()
    authorizer = app.authorizer
    for name in ("is_allowed", "allowed_actions", "roles", "holds"):

        def counted(*args: Any, _name: str = name, _fn: Any = getattr(authorizer, name)) -> Any:
            asked[_name] += 1
            return _fn(*args)

        setattr(authorizer, name, counted)

    def audit_rows() -> list[str]:
        with app.db.session() as session:
            return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.seq))))

    print("\nin-process, per visit (the ASGI app on this thread):")
    for email, token in tokens.items():
        asgi_get(asgi, path, token)  # warm
        before = audit_rows()
        statements = 0
        asked.clear()
        status, _ = asgi_get(asgi, path, token)
        n_sql, policy = statements, dict(asked)
        after = audit_rows()
        assert status == 200, status
        actions = Counter(after[len(before) :])
        best = float("inf")
        for _ in range(10):
            started = time.perf_counter()
            asgi_get(asgi, path, token)
            best = min(best, time.perf_counter() - started)
        print(f"  {email:32} best of 10 {best * 1e3:5.1f} ms; {n_sql:3d} SQL statements; "
              f"policy: {', '.join(f'{k}×{v}' for k, v in sorted(policy.items()))}; "
              f"audit events {sum(actions.values())}: "
              + ", ".join(f"{a}×{c}" for a, c in sorted(actions.items())))  # fmt: skip
    if profile:
        token = tokens[SARAH]
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(profile):
            asgi_get(asgi, path, token)
        profiler.disable()
        each = (time.perf_counter() - started) / profile * 1e3
        print(f"\ncProfile, {profile} visits by Sarah ({each:.0f} ms each under the profiler):")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(r"workspace|policy|jinja2/environment|oso", 45)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    event.remove(app.db.engine, "before_cursor_execute", count)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--requests", type=int, default=200, help="timed visits by the lead")
    parser.add_argument("--others", type=int, default=50, help="timed visits by each other")
    parser.add_argument("--files", type=int, default=12, help="files shared in the room")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile N in-process visits (no HTTP timing)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-room-") as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'caseroom.db'}"
        env = dict(os.environ, CASEROOM_DATA_DIR=str(data_dir), CASEROOM_DATABASE_URL=url,
                   CASEROOM_SECRET_KEY=secrets.token_hex(32))  # fmt: skip
        env.pop("CASEROOM_REDIS_URL", None)
        settings = Settings(data_dir=data_dir, database_url=_normalise_database_url(url),
                            secret_key=env["CASEROOM_SECRET_KEY"])  # fmt: skip
        migrate(settings.database_url)
        app = Caseroom.build(settings)
        began = time.perf_counter()
        room_id = seed(app, args.messages)
        tokens = cookies(app)
        with app.db.session() as session:
            total = session.exec(
                select(func.count()).select_from(Message).where(col(Message.room_id) == room_id)
            ).one()  # fmt: skip
        path = f"/rooms/{room_id}"
        print(f"room page bench: Jamie's room with {total} messages "
              f"(seeded in {time.perf_counter() - began:.1f} s), SQLite, "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")  # fmt: skip
        port = 19000 + os.getpid() % 1000
        server = start_server(env, port)
        results = {}
        try:
            if args.files:
                clients = data_dir / "clients"
                clients.mkdir()
                share_files(f"http://127.0.0.1:{port}", app, room_id, args.files, clients)
            for email, n in ((SARAH, args.requests), (PETE, args.others), (HOLLY, args.others)):
                if n <= 0 or args.profile:
                    continue
                time_visits(port, path, tokens[email], 3, server.pid)  # warm
                results[email] = time_visits(port, path, tokens[email], n, server.pid)
                print(f"  ({email}: done, {load()})", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
        if results:
            print(f"\nGET {path} over HTTP, one `caseroom serve` process ({load()}):")
            for email, (first, whole, size, cpu) in results.items():
                mean = statistics.fmean(whole) * 1e3
                print(f"  {email:32} n={len(first):4d}  first byte p50 {pct(first, 50) * 1e3:6.1f}"
                      f" p99 {pct(first, 99) * 1e3:6.1f} ms   whole p50 "
                      f"{pct(whole, 50) * 1e3:6.1f} p99 {pct(whole, 99) * 1e3:6.1f} ms   "
                      f"mean {mean:6.1f} ms   server CPU {cpu * 1e3:5.1f} ms/visit   "
                      f"{size / 1024:.0f} KB")  # fmt: skip
        if SARAH in results:
            first = results[SARAH][0]
            p50, p99 = pct(first, 50) * 1e3, pct(first, 99) * 1e3
            met = p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS
            print(f"target (lead's page, {total} messages, {args.files} files) p50 ≤ "
                  f"{TARGET_P50_MS:.0f} ms / p99 ≤ {TARGET_P99_MS:.0f} ms time to first byte: "
                  f"{'met' if met else 'missed'} (p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                  f"{load()})")  # fmt: skip
        in_process(app, path, tokens, args.profile)
        app.db.dispose()


if __name__ == "__main__":
    main()
