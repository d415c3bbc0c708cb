"""What the live benches share (chat_fanout.py, plan_sync.py, caseload.py): a scratch data
dir and database, bench users inserted in bulk, `caseroom serve` and the bare relay as child
processes, /proc CPU and memory readings, the client loop's lag, and cleanup on exit.

Import it from a bench script run as `bench/NAME.py` (the script's directory is on
sys.path): `from harness import Server, ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from sqlmodel import Session

    from workspace.models import User
    from workspace.state import Caseroom

BENCH_ORG = "Northshire NHS Foundation Trust"  # a demo organisation: a safeguarding partner
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:,.{digits}f}"  # NaN -> "-"


def pct(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


# --- setup: data dir, database, users -------------------------------------------------------


def bench_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of `caseroom` commands and servers: SQLite in `data_dir` unless a
    database URL is given; no Redis (set CASEROOM_REDIS_URL on top for several processes)."""
    env = dict(os.environ)
    env.update(
        CASEROOM_DATA_DIR=str(data_dir),
        CASEROOM_DATABASE_URL=database_url or f"sqlite:///{data_dir / 'caseroom.db'}",
        CASEROOM_SECRET_KEY=secrets.token_hex(32),
        PYTHONUNBUFFERED="1",
    )
    env.pop("CASEROOM_REDIS_URL", None)  # one process, local fan-out
    env.pop("CASEROOM_BENCH_WHATIF", None)
    return env


def caseroom_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "workspace.cli", *args]


def prepare_database(env: dict[str, str]) -> None:
    """`caseroom init` (migrate) and `caseroom demo` (the demo organisations and rooms)."""
    for step in ("init", "demo"):
        done = subprocess.run(
            caseroom_cmd(step), cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"caseroom {step} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def scratch_database(server_url: str | None, sqlite_dir: Path) -> Iterator[str]:
    """A database URL for one run: SQLite in `sqlite_dir`, or with a PostgreSQL server URL a
    database of its own (`caseroom_bench_<pid>`), created here and dropped on the way out.
    The database named in `server_url` is only used to do that (the role needs CREATEDB)."""
    if server_url is None:
        yield f"sqlite:///{sqlite_dir / 'bench.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    from workspace.settings import _normalise_database_url

    url = make_url(_normalise_database_url(server_url))
    name = f"caseroom_bench_{os.getpid()}"

    def admin() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
        )

    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert_users(
    session: Session, organisation_id: str, count: int, now: datetime, prefix: str = "bench"
) -> tuple[list[User], str]:
    """`count` practitioners of one organisation, inserted directly with one shared
    password hash (hashing hundreds of passwords with argon2id would take minutes):
    (the users, flushed; their password)."""
    from workspace.crypto import hash_password
    from workspace.models import User

    password = secrets.token_urlsafe(18)
    password_hash = hash_password(password)
    users = [
        User(
            organisation_id=organisation_id,
            name=f"Bench Person {i:04d}",
            email=f"{prefix}{i:04d}@bench.example",
            org_role="practitioner",
            password_hash=password_hash,
            created_at=now,
        )
        for i in range(count)
    ]
    session.add_all(users)
    session.flush()
    return users, password


def tokens_for(app: Caseroom, session: Session, users: Sequence[User]) -> list[str]:
    """An API token per user, made by accounts.create_token (audited like any other)."""
    from workspace.access import Access, Origin
    from workspace.services import accounts

    return [
        accounts.create_token(Access(app, session, u, Origin("cli")), u, "bench") for u in users
    ]


# --- server processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """In a child: SIGTERM it if the bench dies without cleaning up (kill -9)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal reaches only us; we stop it
                preexec_fn=die_with_parent,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server exited:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answered (404 from the bare relay is fine)
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} server did not start in {timeout}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """user + system CPU time of the server process so far."""
        assert self.proc is not None
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return float("nan")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def memory_mb(self, field: str = "VmHWM") -> float:
        """From /proc/PID/status: VmHWM is the peak resident set so far, VmRSS the current."""
        assert self.proc is not None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def tracebacks(self) -> int:
        return sum("Traceback" in ln for ln in self.log_tail(100_000).splitlines())

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def bare_relay_cmd(port: int) -> list[str]:
    """bench/bare_relay.py under the same uvicorn, with the same options, as `caseroom
    serve` (workspace.asgi.UVICORN_OPTIONS; the bench's clients offer no compression)."""
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_relay:app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
            "--no-proxy-headers", "--ws-per-message-deflate", "False"]  # fmt: skip


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all CPUs, all processes) since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def wait_quiet_blocking(servers: Sequence[Server], limit: float = 60.0) -> None:
    """Until every server uses under 5% of a CPU over half a second (or `limit` passes), so
    that one run's leftover work (disconnects, presence) does not overlap the next."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = [s.cpu_seconds() for s in servers]
        time.sleep(0.5)
        if not any(s.cpu_seconds() - b > 0.025 for s, b in zip(servers, before, strict=True)):
            return


def wait_settled(servers: Sequence[Server], limit: float = 60.0) -> float:
    """Until the servers' CPU use stops falling (or `limit` passes): with thousands of
    sockets a server never goes quiet (engine.io pings every socket every 10 s), so wait
    for its background level instead. Returns that level, % of one CPU (all servers)."""
    deadline = time.monotonic() + limit
    samples: list[float] = []
    while True:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(1.0)
        samples.append((sum(s.cpu_seconds() for s in servers) - before) * 100)
        settled = len(samples) >= 3 and samples[-1] <= min(samples[:-1]) + 3
        if samples[-1] <= 5 or settled or time.monotonic() > deadline:
            return samples[-1]


async def wait_quiet(server: Server, limit: float = 60.0) -> None:
    await asyncio.to_thread(wait_quiet_blocking, [server], limit)


# --- the client side ------------------------------------------------------------------------


async def gather_limited(n: int, limit: int, make: Callable[[int], Any]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


class LagMonitor:
    """How late the client loop wakes up: if this grows, the client (not the server) is
    the bottleneck and latencies are not to be trusted."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.max_lag = max(self.max_lag, time.perf_counter() - t - 0.01)

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def quietly_disconnect(client: Any, timeout: float) -> None:
    """Disconnect a socketio.AsyncClient, ignoring failures, and close its HTTP session."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), timeout=timeout)
    http = getattr(client.eio, "http", None)
    if http is not None and not http.closed:
        with contextlib.suppress(Exception):
            await http.close()


# --- running ----------------------------------------------------------------------------------


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP behave like Ctrl-C, so `finally` blocks stop servers and remove dirs."""

    def interrupt(signum: int, _frame: Any) -> None:
        if callable(signal.getsignal(signal.SIGINT)):
            signal.raise_signal(signal.SIGINT)  # asyncio.Runner's handler: cancel, unwind
        else:
            raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run_loop(coro: Any) -> Any:
    """Run a coroutine on uvloop when it is installed (as uvicorn does), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
