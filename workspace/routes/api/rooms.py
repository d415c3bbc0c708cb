from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.pagination import parse_limit
from workspace.schemas import RoomIn
from workspace.services import rooms
from workspace.web import call, read_model


async def list_rooms(request: Request) -> Response:
    params = request.query_params
    page = await call(
        request,
        lambda access: rooms.list_rooms(
            access,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            status=params.get("status"),
        ),
        channel="api",
    )
    return JSONResponse(
        {"items": [serialize.room_summary(s) for s in page.items], "next": page.next}
    )


async def create_room(request: Request) -> Response:
    data = await read_model(request, RoomIn)
    view = await call(request, rooms.create_room, data, channel="api")
    return JSONResponse(serialize.room(view), status_code=201)


async def get_room(request: Request) -> Response:
    view = await call(request, rooms.get_room, request.path_params["room_id"], channel="api")
    return JSONResponse(serialize.room(view))


routes = [
    Route("/rooms", list_rooms, methods=["GET"]),
    Route("/rooms", create_room, methods=["POST"]),
    Route("/rooms/{room_id}", get_room, methods=["GET"]),
]
