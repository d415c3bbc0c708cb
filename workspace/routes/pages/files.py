"""A room's files page: every file the caller may see, newest first, a page at a time
(plain links, so it pages without JavaScript; opening a file needs it: they are
encrypted in the browser)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.access import Access
from workspace.pagination import parse_limit
from workspace.services import rooms
from workspace.services.files import reading
from workspace.templating import render
from workspace.web import call


def _context(access: Access, room_id: str, cursor: str | None, limit: str | None) -> dict[str, Any]:
    # The room first: someone who may not see it gets the room page's 404 (one refusal).
    view = rooms.get_room(access, room_id)
    page = reading.list_files(access, room_id, cursor=cursor, limit=parse_limit(limit))
    older = None
    if page.next:
        query = {"cursor": page.next, **({"limit": limit} if limit else {})}
        older = f"/rooms/{room_id}/files?{urlencode(query)}"
    return {
        "view": view, "files": page.items, "older_href": older, "paged": bool(cursor),
        "max_file_bytes": access.app.settings.max_file_bytes,
    }  # fmt: skip


async def files_page(request: Request) -> Response:
    params = request.query_params
    context = await call(
        request,
        _context,
        request.path_params["room_id"],
        params.get("cursor") or None,
        params.get("limit") or None,
    )
    return render(request, "room_files.html", context)


routes = [Route("/rooms/{room_id}/files", files_page, methods=["GET"])]
