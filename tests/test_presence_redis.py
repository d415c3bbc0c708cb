"""Presence over Redis survives a crowd leaving at once: more departures at the same moment
than the connection pool holds wait for a connection instead of failing (found by
bench/caseload.py: 400 sockets closing lost their departures and stayed "online")."""

from __future__ import annotations

import asyncio
import uuid

from realtime import redis_client
from realtime.presence import RedisPresence
from tests.aio import run_async
from tests.test_chat_scale_out import REDIS_URL


def test_more_departures_at_once_than_the_pool_has_connections_all_count() -> None:
    people = [f"person-{n}" for n in range(redis_client.CONNECTIONS * 5)]

    async def crowd() -> list[str]:
        presence = RedisPresence(REDIS_URL, f"test-{uuid.uuid4().hex}:")
        try:
            await asyncio.gather(*(presence.arrive("room", p) for p in people))
            assert len(await presence.online("room")) == len(people)
            left = await asyncio.gather(*(presence.depart("room", p) for p in people))
            assert all(left)
            return await presence.online("room")
        finally:
            await presence.close()

    assert run_async(crowd()) == []
