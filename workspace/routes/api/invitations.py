"""Invitations of people with no account yet (issue #5): the lead lists and revokes them;
they are made by POST /rooms/{id}/members (202)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import invitations
from workspace.web import call


async def list_invitations(request: Request) -> Response:
    views = await call(
        request, invitations.list_invitations, request.path_params["room_id"], channel="api"
    )
    return JSONResponse({"items": [serialize.invitation(v) for v in views], "next": None})


async def revoke_invitation(request: Request) -> Response:
    await call(
        request,
        invitations.revoke_invitation,
        request.path_params["room_id"],
        request.path_params["invitation_id"],
        channel="api",
    )
    return Response(status_code=204)


routes = [
    Route("/rooms/{room_id}/invitations", list_invitations, methods=["GET"]),
    Route("/rooms/{room_id}/invitations/{invitation_id}", revoke_invitation, methods=["DELETE"]),
]
