"""Who has seen this child: a room's viewers, for the people who review its access."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.services import viewers
from workspace.templating import render
from workspace.web import call


async def viewers_page(request: Request) -> Response:
    report = await call(request, viewers.viewers, request.path_params["room_id"])
    return render(request, "viewers.html", {"report": report})


routes = [Route("/rooms/{room_id}/viewers", viewers_page, methods=["GET"])]
