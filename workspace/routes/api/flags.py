"""Flags that draw a manager's eye (issue #12, item 4)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import flags
from workspace.web import call, read_model


async def list_flags(request: Request) -> Response:
    found = await call(request, flags.list_flags, channel="api")
    return JSONResponse({"items": [serialize.flag(f) for f in found], "next": None})


async def review_flag(request: Request) -> Response:
    data = await read_model(request, flags.FlagReviewIn)
    flag: Any = await call(
        request, flags.review, request.path_params["flag_id"], data, channel="api"
    )
    return JSONResponse(serialize.flag(flag))


routes = [
    Route("/audit/flags", list_flags, methods=["GET"]),
    Route("/audit/flags/{flag_id}/review", review_flag, methods=["POST"]),
]
