"""Raising a concern and the front door (issue #14; DESIGN.md §6): `POST /concerns`,
`GET /front-door`, `GET /front-door/{contact_id}`, `POST /front-door/{contact_id}/rating`,
`POST /front-door/{contact_id}/decision`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import front_door
from workspace.web import call, read_model


async def raise_concern(request: Request) -> Response:
    data = await read_model(request, front_door.ConcernIn)
    receipt = await call(request, front_door.raise_concern, data, channel="api")
    return JSONResponse(
        {
            "reference": receipt.reference,
            "went_to": receipt.went_to,
            "room_id": receipt.room_id,
            "contact_id": receipt.contact_id,
        },
        status_code=201,
    )


async def queue(request: Request) -> Response:
    decided = request.query_params.get("decided") == "1"
    views = await call(
        request,
        lambda access: front_door.list_queue(access, include_decided=decided),
        channel="api",
    )
    return JSONResponse({"items": [serialize.contact(v) for v in views], "next": None})


async def contact(request: Request) -> Response:
    view = await call(
        request, front_door.read_contact, request.path_params["contact_id"], channel="api"
    )
    return JSONResponse(serialize.contact(view))


async def rate(request: Request) -> Response:
    data = await read_model(request, front_door.RatingIn)
    await call(
        request, front_door.set_rating, request.path_params["contact_id"], data.rag, channel="api"
    )
    return Response(status_code=204)


async def decide(request: Request) -> Response:
    data = await read_model(request, front_door.DecisionIn)
    view = await call(
        request, front_door.decide, request.path_params["contact_id"], data, channel="api"
    )
    return JSONResponse(serialize.contact(view))


routes = [
    Route("/concerns", raise_concern, methods=["POST"]),
    Route("/front-door", queue, methods=["GET"]),
    Route("/front-door/{contact_id}", contact, methods=["GET"]),
    Route("/front-door/{contact_id}/rating", rate, methods=["POST"]),
    Route("/front-door/{contact_id}/decision", decide, methods=["POST"]),
]
