"""Sharing decisions (golden rule 7): re-share an item, record a decision not to share,
read the room's record."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import sharing
from workspace.web import call, read_model


async def share(request: Request) -> Response:
    data = await read_model(request, sharing.ShareIn)

    def work(access: Any) -> sharing.DecisionView:
        made = sharing.share_item(access, request.path_params["room_id"], data)
        return sharing.decision_view(access, made)

    return JSONResponse(
        serialize.sharing_decision(await call(request, work, channel="api")), status_code=201
    )


async def record(request: Request) -> Response:
    data = await read_model(request, sharing.NotShareIn)

    def work(access: Any) -> sharing.DecisionView:
        made = sharing.record_not_to_share(access, request.path_params["room_id"], data)
        return sharing.decision_view(access, made)

    return JSONResponse(
        serialize.sharing_decision(await call(request, work, channel="api")), status_code=201
    )


async def list_decisions(request: Request) -> Response:
    views = await call(
        request, sharing.list_decisions, request.path_params["room_id"], channel="api"
    )
    return JSONResponse({"items": [serialize.sharing_decision(v) for v in views], "next": None})


routes = [
    Route("/rooms/{room_id}/shares", share, methods=["POST"]),
    Route("/rooms/{room_id}/sharing-decisions", record, methods=["POST"]),
    Route("/rooms/{room_id}/sharing-decisions", list_decisions, methods=["GET"]),
]
