from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.clock import iso
from workspace.pagination import parse_limit
from workspace.schemas import MessageEditIn, MessageIn
from workspace.services import exposure as exposure_service
from workspace.services import messages
from workspace.web import call, read_model


async def list_messages(request: Request) -> Response:
    params = request.query_params
    page = await call(
        request,
        lambda access: messages.list_messages(
            access,
            request.path_params["room_id"],
            cursor=params.get("cursor") or params.get("since"),
            before=params.get("before"),
            limit=parse_limit(params.get("limit")),
            with_receipts=params.get("receipts") == "1",
            kind=params.get("kind") or None,
        ),
        channel="api",
    )
    return JSONResponse({"items": [serialize.message(v) for v in page.items], "next": page.next})


async def search_messages(request: Request) -> Response:
    params = request.query_params
    views = await call(
        request,
        lambda access: messages.search_messages(
            access, request.path_params["room_id"], params.get("q", ""),
            limit=parse_limit(params.get("limit")),
        ),
        channel="api",
    )  # fmt: skip
    return JSONResponse({"items": [serialize.message(v) for v in views], "next": None})


async def exposure(request: Request) -> Response:
    report = await call(
        request, exposure_service.who_could_have_seen, request.path_params["message_id"],
        channel="api",
    )  # fmt: skip
    return JSONResponse(serialize.exposure(report))


async def mark_read(request: Request) -> Response:
    await call(request, messages.mark_read, request.path_params["message_id"], channel="api")
    return Response(status_code=204)


async def post_message(request: Request) -> Response:
    data = await read_model(request, MessageIn)
    view, created = await call(
        request, messages.post_message, request.path_params["room_id"], data, channel="api"
    )
    return JSONResponse(serialize.message(view), status_code=201 if created else 200)


async def edit_message(request: Request) -> Response:
    data = await read_model(request, MessageEditIn)
    view = await call(
        request, messages.edit_message, request.path_params["message_id"], data, channel="api"
    )
    return JSONResponse(serialize.message(view))


async def retract_message(request: Request) -> Response:
    view = await call(
        request, messages.retract_message, request.path_params["message_id"], channel="api"
    )
    return JSONResponse(serialize.message(view))


async def message_history(request: Request) -> Response:
    edits = await call(
        request, messages.message_history, request.path_params["message_id"], channel="api"
    )
    return JSONResponse(
        {
            "items": [{"body": e.body, "replaced_at": iso(e.replaced_at)} for e in edits],
            "next": None,
        }
    )


routes = [
    Route("/rooms/{room_id}/messages", list_messages, methods=["GET"]),
    Route("/rooms/{room_id}/messages", post_message, methods=["POST"]),
    Route("/rooms/{room_id}/search", search_messages, methods=["GET"]),
    Route("/messages/{message_id}/read", mark_read, methods=["POST"]),
    Route("/messages/{message_id}/exposure", exposure, methods=["GET"]),
    Route("/messages/{message_id}", edit_message, methods=["PATCH"]),
    Route("/messages/{message_id}/retract", retract_message, methods=["POST"]),
    Route("/messages/{message_id}/history", message_history, methods=["GET"]),
]
