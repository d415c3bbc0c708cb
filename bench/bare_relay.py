"""The baseline for bench/chat_fanout.py: a bare python-socketio relay.

No auth, no persistence, no policy, no audit. `join {room_id}` enters the room; `message
{room_id, ...}` is emitted as is to the room; `read {message_id}` (chat_fanout --mark-read)
is emitted to the sender's rooms, as Caseroom tells a room who has read what. Server
options match realtime/server.py (ASGI mode, same ping settings and buffer size) and it
runs under the same uvicorn, so the difference to `caseroom serve` is what Caseroom does
per event.

    .venv/bin/python -m uvicorn --app-dir bench bare_relay:app --port 8100
"""

from __future__ import annotations

from typing import Any

import socketio

sio = socketio.AsyncServer(
    async_mode="asgi",
    max_http_buffer_size=64 * 1024,
    ping_interval=10,
    ping_timeout=10,
)
app = socketio.ASGIApp(sio, socketio_path="socket.io")


@sio.on("join")
async def join(sid: str, data: Any) -> dict[str, Any]:
    room_id = str(data["room_id"])
    await sio.enter_room(sid, room_id)
    return {"ok": True, "room_id": room_id}


@sio.on("message")
async def message(sid: str, data: Any) -> dict[str, Any]:
    await sio.emit("message", data, to=str(data["room_id"]))
    return {"ok": True}


@sio.on("read")
async def read(sid: str, data: Any) -> dict[str, Any]:
    for room in sio.rooms(sid):
        if room != sid:
            await sio.emit("read", {"sid": sid, "message_id": data.get("message_id")}, to=room)
    return {"ok": True}
