"""The lead's duties over the API: change a role or a guest's end date, transfer the
lead role, close the room."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import lead_tools
from workspace.web import call, read_model


async def change_member(request: Request) -> Response:
    data = await read_model(request, lead_tools.MemberChangeIn)
    view = await call(
        request,
        lead_tools.change_member,
        request.path_params["room_id"],
        request.path_params["user_id"],
        data,
        channel="api",
    )
    return JSONResponse(serialize.member(view))


async def transfer_lead(request: Request) -> Response:
    data = await read_model(request, lead_tools.LeadIn)
    await call(
        request, lead_tools.transfer_lead, request.path_params["room_id"], data.user_id,
        channel="api",
    )  # fmt: skip
    return Response(status_code=204)


async def close_room(request: Request) -> Response:
    await call(request, lead_tools.close_room, request.path_params["room_id"], channel="api")
    return Response(status_code=204)


routes = [
    Route("/rooms/{room_id}/members/{user_id}", change_member, methods=["PATCH"]),
    Route("/rooms/{room_id}/lead", transfer_lead, methods=["POST"]),
    Route("/rooms/{room_id}/close", close_room, methods=["POST"]),
]
