"""`POST /api/v1/agency-events` (issue #14; DESIGN.md §6, front door): a partner system
tells us of an event in a child's life. `POST /api/v1/messages/{message_id}/acknowledge`:
someone told of one says they have it in hand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.clock import iso
from workspace.services import agency_events
from workspace.web import call, read_model


async def send(request: Request) -> Response:
    data = await read_model(request, agency_events.AgencyEventIn)
    receipt, created = await call(request, agency_events.receive, data, channel="api")
    body: dict[str, object] = {"id": receipt.id, "known": receipt.known}
    if receipt.lead is not None:
        lead = receipt.lead
        body["lead"] = {
            "name": lead.name,
            "organisation": lead.organisation,
            "contact": lead.contact,
        }
    return JSONResponse(body, status_code=201 if created else 200)


async def acknowledge(request: Request) -> Response:
    alert = await call(
        request, agency_events.acknowledge, request.path_params["message_id"], channel="api"
    )
    return JSONResponse(
        {"message_id": alert.message_id, "room_id": alert.room_id,
         "acknowledged_at": iso(alert.acknowledged_at), "due_at": iso(alert.due_at)}
    )  # fmt: skip


routes = [
    Route("/agency-events", send, methods=["POST"]),
    Route("/messages/{message_id}/acknowledge", acknowledge, methods=["POST"]),
]
