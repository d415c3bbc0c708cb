"""A room's history page (lead tools and membership changes, newest first)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.access import Access
from workspace.services import room_history, rooms
from workspace.templating import render
from workspace.web import call


def _context(access: Access, room_id: str) -> dict[str, Any]:
    entries = room_history.history(access, room_id)
    return {"view": rooms.get_room(access, room_id), "entries": entries}


async def history_page(request: Request) -> Response:
    context = await call(request, _context, request.path_params["room_id"])
    return render(request, "room_history.html", context)


routes = [Route("/rooms/{room_id}/history", history_page, methods=["GET"])]
