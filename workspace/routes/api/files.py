"""End-to-end encrypted files (DESIGN.md §6 "Files"). The ciphertext streams to and from
disk; everything else is JSON, decided and audited by the services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from workspace import serialize
from workspace.access import Access
from workspace.errors import NotFound
from workspace.pagination import parse_limit
from workspace.services import exposure
from workspace.services.files import keys, reading, recipients, uploads, wrapping
from workspace.services.files.inputs import FileIn, KeysIn, TamperedIn, WrapIn
from workspace.services.files.store import Expected, store_for
from workspace.services.files.views import own_keys, public_keys
from workspace.web import app_of, call, read_model


async def put_my_keys(request: Request) -> Response:
    data = await read_model(request, KeysIn)
    published = await call(request, keys.publish, data, channel="api")
    return JSONResponse(own_keys(published))


async def get_my_keys(request: Request) -> Response:
    mine = await call(request, keys.mine, channel="api")
    if mine is None:
        raise NotFound("You have not published keys yet.")
    return JSONResponse(own_keys(mine))


async def get_user_keys(request: Request) -> Response:
    found = await call(request, keys.of, request.path_params["user_id"], channel="api")
    return JSONResponse(public_keys(found))


async def get_recipients(request: Request) -> Response:
    sensitivity = request.query_params.get("sensitivity", "room")
    found = await call(
        request, recipients.for_room, request.path_params["room_id"], sensitivity, channel="api"
    )
    return JSONResponse(found.json())


async def post_file(request: Request) -> Response:
    data = await read_model(request, FileIn)
    try:
        file = await call(
            request, uploads.create, request.path_params["room_id"], data, channel="api"
        )
    except uploads.RecipientsChanged as exc:
        return recipients_changed(exc)
    return JSONResponse(
        {"id": file.id, "upload": f"/api/v1/files/{file.id}/content"}, status_code=201
    )


def recipients_changed(exc: uploads.RecipientsChanged) -> Response:
    """409 with whom to wrap for now, beside the error (DESIGN.md §6)."""
    body = {
        "error": {"code": exc.code, "message": exc.message},
        "recipients": exc.recipients["items"],
        "waiting": exc.recipients["waiting"],
    }
    return JSONResponse(body, status_code=409)


async def put_content(request: Request) -> Response:
    """Authorised before a byte is read; streamed to a temporary file while counted and
    hashed (413 past CASEROOM_MAX_FILE_BYTES, 422 when size or sha256 differ); kept only
    once it matches."""
    return await receive_content(
        request, request.path_params["file_id"], uploads.expect_content, uploads.finish_content
    )


async def receive_content(
    request: Request,
    item_id: str,
    expect: Callable[[Access, str], Expected],
    finish: Callable[[Access, str, Path], object],
) -> Response:
    """The ciphertext of a file or a concern's photo: decided (`expect`) before a byte is
    read, streamed to disk, kept (`finish`) only once size and hash match."""
    expected = await call(request, expect, item_id, channel="api")
    app = app_of(request)
    store = store_for(app.settings, app.clock)
    temp = await store.receive(request.stream(), expected)
    try:
        await call(request, finish, item_id, temp, channel="api")
    finally:
        store.discard(temp)  # kept files were moved away already
    return Response(status_code=204)


def ciphertext(found: reading.Content) -> Response:
    return StreamingResponse(
        found.chunks,
        media_type="application/octet-stream",
        headers={"Content-Length": str(found.size), "Content-Disposition": "attachment"},
    )


async def list_files(request: Request) -> Response:
    params = request.query_params
    page = await call(
        request, lambda access: reading.list_files(
            access, request.path_params["room_id"], cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
        ),
        channel="api",
    )  # fmt: skip
    return JSONResponse({"items": [v.json() for v in page.items], "next": page.next})


async def get_file(request: Request) -> Response:
    view = await call(request, reading.metadata, request.path_params["file_id"], channel="api")
    return JSONResponse(view.json())


async def get_content(request: Request) -> Response:
    return ciphertext(
        await call(request, reading.content, request.path_params["file_id"], channel="api")
    )


async def post_keys(request: Request) -> Response:
    data = await read_model(request, WrapIn)
    given = await call(
        request, wrapping.wrap, request.path_params["file_id"], data, channel="api"
    )
    return JSONResponse({"user_ids": given}, status_code=201)


async def post_tampered(request: Request) -> Response:
    data = await read_model(request, TamperedIn)
    await call(
        request, reading.report_tampered, request.path_params["file_id"], data, channel="api"
    )
    return Response(status_code=204)


async def get_exposure(request: Request) -> Response:
    report = await call(
        request, exposure.who_could_have_seen_file, request.path_params["file_id"],
        channel="api",
    )  # fmt: skip
    return JSONResponse(serialize.exposure(report))


routes = [
    Route("/me/keys", put_my_keys, methods=["PUT"]),
    Route("/me/keys", get_my_keys, methods=["GET"]),
    Route("/users/{user_id}/keys", get_user_keys, methods=["GET"]),
    Route("/rooms/{room_id}/recipients", get_recipients, methods=["GET"]),
    Route("/rooms/{room_id}/files", list_files, methods=["GET"]),
    Route("/rooms/{room_id}/files", post_file, methods=["POST"]),
    Route("/files/{file_id}", get_file, methods=["GET"]),
    Route("/files/{file_id}/content", put_content, methods=["PUT"]),
    Route("/files/{file_id}/content", get_content, methods=["GET"]),
    Route("/files/{file_id}/keys", post_keys, methods=["POST"]),
    Route("/files/{file_id}/tampered", post_tampered, methods=["POST"]),
    Route("/files/{file_id}/exposure", get_exposure, methods=["GET"]),
]
