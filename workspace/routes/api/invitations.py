"""Invitations of people with no account yet (issue #5): the lead lists and revokes them;
they are made by POST /rooms/{id}/members (202)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.clock import iso
from workspace.services import invitations
from workspace.web import call


def invitation(view: invitations.InvitationView) -> dict[str, Any]:
    """No token and no link: those go to the invited person only, by email."""
    i = view.invitation
    return {
        "id": i.id,
        "room_id": i.room_id,
        "email": i.email,
        "role": i.role,
        "organisation": serialize.organisation(view.organisation),
        "status": i.status,
        "expires_at": iso(i.access_expires_at),
        "link_expires_at": iso(i.link_expires_at),
        "created_at": iso(i.created_at),
        "purpose": i.purpose,
        "lawful_basis": i.lawful_basis,
        "sharing_decision_id": i.sharing_decision_id,
    }


async def list_invitations(request: Request) -> Response:
    views = await call(
        request, invitations.list_invitations, request.path_params["room_id"], channel="api"
    )
    return JSONResponse({"items": [invitation(v) for v in views], "next": None})


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
