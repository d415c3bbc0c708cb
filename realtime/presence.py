"""Who is online in a room: counted per user across all of their sockets (and, with Redis,
across processes), so a second tab does not flicker someone offline."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from realtime import redis_client


class LocalPresence:
    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = defaultdict(dict)

    async def arrive(self, room_id: str, user_id: str) -> bool:
        """True when this makes the user newly online in the room."""
        counts = self._counts[room_id]
        counts[user_id] = counts.get(user_id, 0) + 1
        return counts[user_id] == 1

    async def depart(self, room_id: str, user_id: str) -> bool:
        """True when the user's last socket in the room has gone."""
        counts = self._counts[room_id]
        left = counts.get(user_id, 0) - 1
        if left > 0:
            counts[user_id] = left
            return False
        counts.pop(user_id, None)
        return True

    async def online(self, room_id: str) -> list[str]:
        return sorted(self._counts.get(room_id, {}))

    async def close(self) -> None:
        return None


class RedisPresence:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis_client.connect(url, decode_responses=True)
        self._prefix = prefix

    def _key(self, room_id: str) -> str:
        return f"{self._prefix}presence:{room_id}"

    async def arrive(self, room_id: str, user_id: str) -> bool:
        return int(await self._redis.hincrby(self._key(room_id), user_id, 1)) == 1

    async def depart(self, room_id: str, user_id: str) -> bool:
        left = int(await self._redis.hincrby(self._key(room_id), user_id, -1))
        if left <= 0:
            await self._redis.hdel(self._key(room_id), user_id)
            return True
        return False

    async def online(self, room_id: str) -> list[str]:
        counts: dict[Any, Any] = await self._redis.hgetall(self._key(room_id))
        return sorted(str(user) for user, n in counts.items() if int(n) > 0)

    async def close(self) -> None:
        await self._redis.aclose()
