"""The control bus between server processes: "re-decide what these sockets may receive".
In-process by default; over Redis pub/sub when CASEROOM_REDIS_URL is set, so a removal
made on one process reaches sockets held by every other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from realtime import redis_client

Handler = Callable[[dict[str, Any]], Awaitable[None]]
log = logging.getLogger("caseroom.realtime")


class LocalBus:
    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, message: dict[str, Any]) -> None:
        if self._handler is not None:
            await self._handler(message)

    async def stop(self) -> None:
        self._handler = None


class RedisBus:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis_client.connect(url)
        self._channel = f"{prefix}control"
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._task = asyncio.create_task(self._listen(handler))
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self, handler: Handler) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self._channel)
                self._ready.set()
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    try:
                        await handler(json.loads(item["data"]))
                    except Exception:
                        log.exception("control message failed: %r", item.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lost the Redis control channel; reconnecting")
                await asyncio.sleep(0.5)

    async def publish(self, message: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, json.dumps(message))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
