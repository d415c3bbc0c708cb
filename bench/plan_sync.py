"""Co-edited plans: update round trips with 10 editors on one plan, and the cost of a plan's
history (issue #11).

    .venv/bin/python bench/plan_sync.py [--editors 10] [--updates 30] [--history 10000]

1. A temporary data dir (`caseroom init`, `caseroom demo`), `--editors` bench users added as
   members of Jamie's room with their own API tokens (bench/chat_fanout.py's helpers), and
   `caseroom serve` in a child process (SQLite, one process).
2. Every editor opens the plan over socket.io as the browser does (plan:join, sync step 1
   and 2 both ways) with a pycrdt document. Each editor in turn types `--updates` single
   characters into the concerns (one y-protocols update each, sent as `plan:update`), 20 a
   second in all. Printed: the acknowledgement (the server has authorised, stored durably
   and audited the update) and the relay (the time until every other editor has applied it),
   p50 / p99 / max, and the server's CPU per update. All clients run in this process, so one
   clock times both ends.
3. The history: `--history` updates (one typed character each) appended to a plan through
   the store, as a long editing life leaves them; then the time to load the plan from them
   (replaying every update), to compact it (one snapshot), and to load it again, with the
   sizes before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio
from pycrdt import Doc, Map, create_sync_message, create_update_message, handle_sync_message

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from chat_fanout import (  # noqa: E402
    Server,
    add_bench_users,
    bench_env,
    caseroom_cmd,
    free_port,
    pct,
    prepare_database,
)

from workspace.services.plans import document  # noqa: E402


class Editor:
    def __init__(self, index: int) -> None:
        self.index = index
        self.doc: Doc[Any] = Doc()
        self.client = socketio.AsyncClient(reconnection=False)
        self.synced = asyncio.Event()
        self.seen: dict[bytes, float] = {}  # update -> when this editor applied it
        self.client.on("plan:sync", self._on_sync)
        self.client.on("plan:update", self._on_update)
        self.room_id = ""

    async def _on_sync(self, data: dict[str, Any]) -> None:
        handle_sync_message(data["message"][1:], self.doc)
        reply = await self.client.call(
            "plan:sync", {"room_id": self.room_id, "message": create_sync_message(self.doc)}
        )
        handle_sync_message(reply["message"][1:], self.doc)
        self.synced.set()

    async def _on_update(self, data: dict[str, Any]) -> None:
        message = bytes(data["message"])
        self.seen[message] = time.perf_counter()
        handle_sync_message(message[1:], self.doc)

    async def open(self, url: str, token: str, room_id: str) -> None:
        self.room_id = room_id
        await self.client.connect(url, auth={"token": token}, transports=["websocket"])
        answer = await self.client.call("plan:join", {"room_id": room_id})
        if not answer.get("ok") or not answer.get("can_edit"):
            raise SystemExit(f"editor {self.index} could not open the plan to edit: {answer}")
        await asyncio.wait_for(self.synced.wait(), timeout=10)

    def type_one(self) -> bytes:
        def edit(plan: Map[Any]) -> None:
            concerns = plan["concerns"]
            concerns.insert(len(str(concerns)), chr(ord("a") + self.index % 26))

        _, update = document.edit(self.doc, edit)
        assert update is not None
        return create_update_message(update)


async def round_trips(url: str, room_id: str, tokens: list[str], per_editor: int) -> list[str]:
    editors = [Editor(i) for i in range(len(tokens))]
    await asyncio.gather(*(e.open(url, t, room_id) for e, t in zip(editors, tokens, strict=True)))
    acks: list[float] = []
    relays: list[float] = []
    sent: list[tuple[Editor, bytes, float]] = []
    interval = 1 / 20
    for turn in range(per_editor):
        for editor in editors:
            message = editor.type_one()
            start = time.perf_counter()
            answer = await editor.client.call(
                "plan:update", {"room_id": room_id, "message": message}
            )
            acks.append(time.perf_counter() - start)
            if not answer.get("ok"):
                raise SystemExit(f"update refused: {answer}")
            sent.append((editor, message, start))
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - start)))
        del turn
    deadline = time.perf_counter() + 10
    for editor, message, start in sent:
        for other in editors:
            if other is editor:
                continue
            while message not in other.seen:
                if time.perf_counter() > deadline:
                    raise SystemExit("an update never reached an editor")
                await asyncio.sleep(0.005)
            relays.append(other.seen[message] - start)
    texts = {str(e.doc.get("plan", type=Map)["concerns"]) for e in editors}
    if len(texts) != 1:
        raise SystemExit("the editors' plans differ")
    await asyncio.gather(*(e.client.disconnect() for e in editors))
    ms = lambda xs, q: pct(sorted(xs), q / 100) * 1000  # noqa: E731
    return [
        f"  ack   (authorised, stored, audited): p50 {ms(acks, 50):6.1f} ms  "
        f"p99 {ms(acks, 99):6.1f} ms  max {max(acks) * 1000:6.1f} ms  ({len(acks)} updates)",
        f"  relay (send -> every other editor):  p50 {ms(relays, 50):6.1f} ms  "
        f"p99 {ms(relays, 99):6.1f} ms  max {max(relays) * 1000:6.1f} ms  "
        f"({len(relays)} deliveries)",
    ]


def history(env: dict[str, str], room_id: str, count: int) -> list[str]:
    from sqlmodel import col, func, select

    from workspace.models import PlanSnapshot, PlanUpdate, Room, User
    from workspace.services.plans import store
    from workspace.settings import Settings
    from workspace.state import Caseroom

    app = Caseroom.build(Settings.from_env(env))
    store.COMPACT_EVERY = 10**9  # keep every update: the point is to replay them all
    try:
        with app.db.session() as session:
            user = session.exec(select(User).where(User.email == "bench000@bench.example")).one()
            room = session.get(Room, room_id)
            assert room is not None
            now = app.clock.now()
            doc = store.open_plan(session, app.keys, room_id, room.plan_type, now).doc
            plan = doc.get("plan", type=Map)
            start = time.perf_counter()
            for i in range(count):
                _, update = document.edit(
                    doc, lambda p, i=i: p["concerns"].insert(len(str(p["concerns"])), "xyz"[i % 3])
                )
                assert update is not None
                store.append(session, app.keys, room_id, update, user.id, now)
            session.commit()
            appended = time.perf_counter() - start
            rows = session.exec(
                select(func.count())
                .select_from(PlanUpdate)
                .where(col(PlanUpdate.room_id) == room_id)
            ).one()
            stored = session.exec(
                select(func.sum(func.length(PlanUpdate.data))).where(
                    col(PlanUpdate.room_id) == room_id
                )
            ).one()
            start = time.perf_counter()
            replayed = store.load(session, app.keys, room_id).doc
            load_all = time.perf_counter() - start
            start = time.perf_counter()
            store.compact(session, app.keys, room_id, now)
            session.commit()
            compact = time.perf_counter() - start
            start = time.perf_counter()
            again = store.load(session, app.keys, room_id).doc
            load_after = time.perf_counter() - start
            snapshot = session.exec(
                select(func.sum(func.length(PlanSnapshot.data))).where(
                    col(PlanSnapshot.room_id) == room_id
                )
            ).one()
            same = (
                str(again.get("plan", type=Map)["concerns"])
                == str(plan["concerns"])
                == str(replayed.get("plan", type=Map)["concerns"])
            )
            if not same:
                raise SystemExit("compaction changed the plan")
    finally:
        app.db.dispose()
    return [
        f"  {count} updates appended in {appended:.1f} s ({rows} rows, {stored / 1024:.0f} KiB "
        "sealed)",
        f"  load replaying them: {load_all * 1000:7.1f} ms;  compact: {compact * 1000:7.1f} ms "
        f"-> one snapshot of {snapshot / 1024:.1f} KiB;  load after: {load_after * 1000:6.1f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editors", type=int, default=10)
    parser.add_argument("--updates", type=int, default=30, help="per editor")
    parser.add_argument("--history", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caseroom-bench-plan-") as tmp:
        data_dir = Path(tmp) / "var"
        env = bench_env(data_dir)
        prepare_database(env)
        room_id, tokens = add_bench_users(env, args.editors)
        server = Server("ours", caseroom_cmd("serve", "--port", str(port := free_port())), port,
                        Path(tmp) / "server.log", env)  # fmt: skip
        server.start()
        try:
            server.wait_ready()
            cpu = server.cpu_seconds()
            lines = asyncio.run(round_trips(server.url, room_id, tokens, args.updates))
            per_update = (server.cpu_seconds() - cpu) / (args.editors * args.updates)
        finally:
            server.stop()
        history_lines = history(env, room_id, args.history)
    load = os.getloadavg()
    print(f"plan sync bench: {args.editors} editors on one plan, one server process, SQLite "
          f"(load average {load[0]:.2f} {load[1]:.2f})")  # fmt: skip
    for line in lines:
        print(line)
    print(f"  server CPU per update (join/sync included): {per_update * 1000:.1f} ms")
    print(f"plan history: {args.history} updates of one character")
    for line in history_lines:
        print(line)


if __name__ == "__main__":
    main()
