"""The Redis client of this process's presence counts and control channel."""

from __future__ import annotations

from typing import Any

CONNECTIONS = 50  # per client, per process
WAIT = 20.0  # seconds a caller waits for a free connection before the error


def connect(url: str, *, decode_responses: bool = False) -> Any:
    """A client whose pool makes callers wait for a free connection: redis-py's default
    pool refuses past its limit, and 400 sockets leaving at once then lost their
    departures (MaxConnectionsError; found by bench/caseload.py), leaving people shown
    online."""
    import redis.asyncio as redis

    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=CONNECTIONS, timeout=WAIT, decode_responses=decode_responses
    )
    return redis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
