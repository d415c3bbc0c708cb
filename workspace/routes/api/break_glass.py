"""`POST /api/v1/break-glass` (rule 8): find a child's room by an exact identifier and
open it read-only for 4 hours. Not allowed and no match answer the same 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.clock import iso
from workspace.services import break_glass
from workspace.web import call, read_model


async def open_room(request: Request) -> Response:
    data = await read_model(request, break_glass.BreakGlassIn)
    opened = await call(request, break_glass.open_room, data, channel="api")
    return JSONResponse(
        {"room_id": opened.room_id, "reference": opened.reference,
         "expires_at": iso(opened.expires_at)},
        status_code=201,
    )  # fmt: skip


routes = [Route("/break-glass", open_room, methods=["POST"])]
