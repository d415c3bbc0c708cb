"""What one chat post costs the server besides the fan-out: the socket event's unit of
work (credential, Access, `post_message`, audit, commit), in-process (issue #13).

    .venv/bin/python bench/post_unit.py                   # SQLite, 2,000 posts
    .venv/bin/python bench/post_unit.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/post_unit.py --profile 500     # cProfile of 500 posts instead

A scratch database (migrated, the demo), then Sarah posts in Jamie's room through
`Realtime._unit` exactly as `on_message` does (a live socket opened with her API token,
its credential trusted from its last check; the group-commit writer with one unit a
group: what a post costs when nothing else queues). Each post has a client id of its own
(none is a retry). It prints the process's CPU time and the wall time of each post (p50 and
p90: the median is the least disturbed by the rest of the machine; the mean includes
SQLite's checkpoints of its log), and the SQL statements of one post. `chat_fanout.py`
measures the same unit inside a served process, where fan-out to 50 sockets shares the CPU
with it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import load_average, pct, scratch_database  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import col, select  # noqa: E402

import realtime.group_commit  # noqa: E402
from realtime.registry import SocketInfo  # noqa: E402
from realtime.server import Realtime, tune_garbage_collector  # noqa: E402
from workspace import crypto  # noqa: E402
from workspace.access import Access, Origin  # noqa: E402
from workspace.cli import migrate  # noqa: E402
from workspace.facts import ts  # noqa: E402
from workspace.models import Room, User  # noqa: E402
from workspace.schemas import MessageIn  # noqa: E402
from workspace.services import accounts, demo, messages  # noqa: E402
from workspace.settings import Settings, _normalise_database_url  # noqa: E402
from workspace.state import Caseroom  # noqa: E402

SARAH = "sarah.social@council.example"


def build(database_url: str, data_dir: Path) -> tuple[Caseroom, str, SocketInfo]:
    settings = Settings(data_dir=data_dir, database_url=_normalise_database_url(database_url),
                        secret_key="b" * 64)  # fmt: skip
    migrate(settings.database_url)
    app = Caseroom.build(settings)
    demo.seed(app)
    with app.db.session() as session:
        room_id = session.exec(select(Room.id).where(col(Room.title).startswith("Jamie"))).one()
        user = session.exec(select(User).where(User.email == SARAH)).one()
        token = accounts.create_token(Access(app, session, user, Origin("cli")), user, "bench")
        session.commit()
        info = SocketInfo(
            "bench-sid", user.id, user.name, f"token:{token}", crypto.token_hash(token),
            "127.0.0.1", "bench", verified_at=ts(app.clock.now()),
        )  # fmt: skip
    return app, str(room_id), info


POSTS = itertools.count(1)  # every post's client id is new: none is a retry


async def post(rt: Realtime, info: SocketInfo, room_id: str) -> None:
    n = next(POSTS)
    data = MessageIn(body=f"Bench post {n}: spoke with the school about attendance.",
                     kind="note", client_id=f"bench-{n}")  # fmt: skip
    await rt._unit(info, messages.post_message, room_id, data, active=True, rooms=(room_id,))


async def batches(rt: Realtime, info: SocketInfo, room_id: str, count: int, size: int
                  ) -> list[tuple[float, float]]:  # fmt: skip
    """Each post's CPU and wall time (seconds)."""
    out = []
    for _ in range(count * size):
        cpu, wall = time.process_time(), time.perf_counter()
        await post(rt, info, room_id)
        out.append((time.process_time() - cpu, time.perf_counter() - wall))
    return out


def statements_of_one(rt: Realtime, info: SocketInfo, room_id: str) -> int:
    count = 0

    def seen(*_args: object) -> None:
        nonlocal count
        count += 1

    engine = rt.app.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        asyncio.run(post(rt, info, room_id))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (a scratch database)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=200, help="posts a batch")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile N posts, the unit run on this thread")  # fmt: skip
    parser.add_argument("--sort", default="cumulative", help="pstats order for --profile")
    parser.add_argument("--top", type=int, default=45, help="functions shown by --profile")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="caseroom-bench-post-") as tmp,
        scratch_database(args.database_url, Path(tmp)) as url,
    ):
        app, room_id, info = build(url, Path(tmp))
        rt = Realtime(app)
        tune_garbage_collector()  # as the server does when it starts
        asyncio.run(batches(rt, info, room_id, 1, 50))  # warm: compiled statements, caches
        if args.profile:

            async def here(fn, *a):  # type: ignore[no-untyped-def]  # the unit on this thread
                return fn(*a)

            realtime.group_commit.run_in_threadpool = here  # type: ignore[assignment]
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(batches(rt, info, room_id, 1, args.profile))
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
            app.db.dispose()
            return
        results = asyncio.run(batches(rt, info, room_id, args.batches, args.size))
        statements = statements_of_one(rt, info, room_id)
        app.db.dispose()
    cpu = sorted(r[0] * 1e3 for r in results)
    wall = sorted(r[1] * 1e3 for r in results)
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(f"one post's unit of work, {kind}, {len(results)} posts one after another "
          f"(Python {sys.version.split()[0]}; load average {load_average()}):")  # fmt: skip
    for name, values in (("CPU ", cpu), ("wall", wall)):
        print(f"  {name} p50 {pct(values, 0.5):.3f} ms, p90 {pct(values, 0.9):.3f} ms, "
              f"mean {statistics.fmean(values):.3f} ms")  # fmt: skip
    print(f"  SQL statements: {statements}")


if __name__ == "__main__":
    main()
