"""A plan editor for tests: a pycrdt document that speaks the plan's socket protocol
(realtime/plans.py) over a real python-socketio client, as the browser's Yjs editor does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import socketio
from pycrdt import (
    Doc,
    Map,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from workspace.services.plans import document


class PlanEditor:
    """One person's open plan: what they received, and their copy of the document."""

    def __init__(self, client: socketio.AsyncClient, doc: Doc[Any] | None = None) -> None:
        self.client = client
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.received: list[tuple[str, Any]] = []
        self.can_edit: bool | None = None
        self.room_id: str | None = None
        self.synced = asyncio.Event()
        self.answered = asyncio.Event()  # the answer to plan:join arrived (can_edit known)
        self.closed = asyncio.Event()

        client.on("plan:sync", self._on_sync)
        client.on("plan:update", self._on_update)
        client.on("disconnect", lambda *_: self.closed.set())

        @client.on("*")
        async def _any(event: str, data: Any = None) -> None:
            self.received.append((event, data))

    async def _on_sync(self, data: dict[str, Any]) -> None:
        """The server's step 1 after joining: answer with what it lacks (an editor only;
        a reader's client sends nothing it could be refused for), then ask for what we
        lack with our own step 1."""
        self.received.append(("plan:sync", data))
        # Each event is handled in a task of its own: this one may start before the join's
        # answer has been taken in.
        await asyncio.wait_for(self.answered.wait(), timeout=5)
        step2 = handle_sync_message(data["message"][1:], self.doc)
        assert step2 is not None
        if self.can_edit:
            answer = await self.client.call(
                "plan:sync", {"room_id": data["room_id"], "message": step2}
            )
            assert answer["ok"], answer
        reply = await self.client.call(
            "plan:sync", {"room_id": data["room_id"], "message": create_sync_message(self.doc)}
        )
        assert reply["ok"], reply
        handle_sync_message(reply["message"][1:], self.doc)
        self.synced.set()

    async def _on_update(self, data: dict[str, Any]) -> None:
        self.received.append(("plan:update", data))
        handle_sync_message(data["message"][1:], self.doc)

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.received if name == event]

    async def join(self, room_id: str) -> dict[str, Any]:
        self.room_id = room_id
        self.synced.clear()
        self.answered.clear()
        answer: dict[str, Any] = await self.client.call("plan:join", {"room_id": room_id})
        if answer.get("ok"):
            self.can_edit = answer["can_edit"]
            self.answered.set()
            await asyncio.wait_for(self.synced.wait(), timeout=5)
        return answer

    def change(self, edit: Callable[[Map[Any]], Any]) -> bytes:
        """Edit the local copy (as typing does); the update it made."""
        _, update = document.edit(self.doc, edit)
        assert update is not None
        return update

    async def send(self, update: bytes) -> dict[str, Any]:
        assert self.room_id is not None
        answer: dict[str, Any] = await self.client.call(
            "plan:update", {"room_id": self.room_id, "message": create_update_message(update)}
        )
        return answer

    async def edit(self, edit: Callable[[Map[Any]], Any]) -> dict[str, Any]:
        return await self.send(self.change(edit))

    def plan(self) -> dict[str, Any]:
        return document.to_json(self.doc, {})

    async def wait_until(
        self, predicate: Callable[[PlanEditor], bool], timeout: float = 3.0
    ) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not within {timeout}s: {self.plan()!r}")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def plan_editor(
    url: str, token: str, doc: Doc[Any] | None = None
) -> AsyncIterator[PlanEditor]:
    client = socketio.AsyncClient(reconnection=False)
    editor = PlanEditor(client, doc)
    await client.connect(url, auth={"token": token}, transports=["websocket"])
    try:
        yield editor
    finally:
        if client.connected:
            await client.disconnect()


def text(field: str, value: str, at: int = 0) -> Callable[[Map[Any]], None]:
    """Typing `value` into a text field at `at` (a UTF-8 offset, as pycrdt counts)."""

    def edit(plan: Map[Any]) -> None:
        plan[field].insert(at, value)

    return edit
