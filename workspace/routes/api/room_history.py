from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import room_history
from workspace.web import call


async def history(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    entries = await call(request, room_history.history, room_id, channel="api")
    return JSONResponse({"items": [serialize.history_entry(e) for e in entries], "next": None})


routes = [Route("/rooms/{room_id}/history", history, methods=["GET"])]
