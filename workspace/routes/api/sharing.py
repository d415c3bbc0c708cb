"""Sharing decisions (golden rule 7): re-share an item, record a decision not to share,
read the room's record."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.clock import iso
from workspace.services import sharing
from workspace.web import call, read_model


def decision(v: sharing.DecisionView) -> dict[str, Any]:
    d = v.decision
    return {
        "id": d.id,
        "decision": d.decision,
        "what": d.what,
        "item_id": d.item_id,
        "decided_by": {"id": v.decided_by.id, "name": v.decided_by.name},
        "with_user": {"id": v.with_user.id, "name": v.with_user.name} if v.with_user else None,
        "with_organisation": (
            {"id": v.with_organisation.id, "name": v.with_organisation.name}
            if v.with_organisation
            else None
        ),
        "purpose": d.purpose,
        "lawful_basis": d.lawful_basis,
        "consent": d.consent,
        "consent_reason": d.consent_reason,
        "created_at": iso(d.created_at),
    }


async def share(request: Request) -> Response:
    data = await read_model(request, sharing.ShareIn)

    def work(access: Any) -> sharing.DecisionView:
        made = sharing.share_item(access, request.path_params["room_id"], data)
        return sharing.decision_view(access, made)

    return JSONResponse(decision(await call(request, work, channel="api")), status_code=201)


async def record(request: Request) -> Response:
    data = await read_model(request, sharing.NotShareIn)

    def work(access: Any) -> sharing.DecisionView:
        made = sharing.record_not_to_share(access, request.path_params["room_id"], data)
        return sharing.decision_view(access, made)

    return JSONResponse(decision(await call(request, work, channel="api")), status_code=201)


async def list_decisions(request: Request) -> Response:
    views = await call(
        request, sharing.list_decisions, request.path_params["room_id"], channel="api"
    )
    return JSONResponse({"items": [decision(v) for v in views], "next": None})


routes = [
    Route("/rooms/{room_id}/shares", share, methods=["POST"]),
    Route("/rooms/{room_id}/sharing-decisions", record, methods=["POST"]),
    Route("/rooms/{room_id}/sharing-decisions", list_decisions, methods=["GET"]),
]
