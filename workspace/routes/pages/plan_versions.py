"""A published version of a room's plan (printable; its PDF is an API route,
workspace/routes/api/plan_pdf.py), and two versions, or a version and the draft, compared."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.services.plans import viewing
from workspace.templating import render
from workspace.web import call


async def version_page(request: Request) -> Response:
    params = request.path_params
    shown = await call(request, viewing.version, params["room_id"], params["version"])
    return render(
        request, "plan_version.html",
        {"published": shown.published, "printed_at": shown.printed_at},
    )  # fmt: skip


async def compare_page(request: Request) -> Response:
    query = request.query_params
    found = await call(
        request, viewing.comparison, request.path_params["room_id"],
        query.get("from") or None, query.get("to") or None,
    )  # fmt: skip
    return render(request, "plan_compare.html", {"c": found})


routes = [
    Route("/rooms/{room_id}/plan/versions/{version}", version_page, methods=["GET"]),
    Route("/rooms/{room_id}/plan/compare", compare_page, methods=["GET"]),
]
