from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.schemas import RemovalIn
from workspace.services import invitations, members
from workspace.web import call, read_model


async def list_members(request: Request) -> Response:
    views = await call(request, members.list_members, request.path_params["room_id"], channel="api")
    return JSONResponse({"items": [serialize.member(v) for v in views], "next": None})


async def add_member(request: Request) -> Response:
    # The organisation fields matter only for a person with no account (an invitation).
    data = await read_model(request, invitations.InviteIn)
    view = await call(
        request, members.add_member, request.path_params["room_id"], data, channel="api"
    )
    if isinstance(view, invitations.InvitationView):
        return JSONResponse(serialize.invitation(view), status_code=202)
    return JSONResponse(serialize.member(view), status_code=201)


async def remove_member(request: Request) -> Response:
    # The reason comes as JSON, not in the query string: it may carry case details, and
    # addresses end up in server and proxy logs. A client from before reasons sends no
    # body: the service answers 404 as ever for a room it may not know, else a clear 422.
    data = await read_model(request, RemovalIn) if await request.body() else None
    await call(
        request,
        members.remove_member,
        request.path_params["room_id"],
        request.path_params["user_id"],
        data,
        channel="api",
    )
    return Response(status_code=204)


routes = [
    Route("/rooms/{room_id}/members", list_members, methods=["GET"]),
    Route("/rooms/{room_id}/members", add_member, methods=["POST"]),
    Route("/rooms/{room_id}/members/{user_id}", remove_member, methods=["DELETE"]),
]
