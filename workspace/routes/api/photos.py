"""Photos on a concern (issue #14 item 2), end-to-end encrypted like files: the reporter
asks whom to seal each photo's key to, sends its metadata, then streams its ciphertext;
readers fetch metadata (with their own sealed key) and ciphertext, and pass the key on."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.routes.api.files import ciphertext, receive_content, recipients_changed
from workspace.services.files import photos
from workspace.services.files.inputs import FileIn, TamperedIn, WrapIn
from workspace.services.files.uploads import RecipientsChanged
from workspace.web import call, read_model


async def get_recipients(request: Request) -> Response:
    found = await call(
        request, photos.recipients_for, request.path_params["contact_id"], channel="api"
    )
    return JSONResponse(found.json())


async def post_photo(request: Request) -> Response:
    data = await read_model(request, FileIn)
    try:
        photo = await call(
            request, photos.create, request.path_params["contact_id"], data, channel="api"
        )
    except RecipientsChanged as exc:
        return recipients_changed(exc)
    return JSONResponse(
        {"id": photo.id, "upload": f"/api/v1/photos/{photo.id}/content"}, status_code=201
    )


async def put_content(request: Request) -> Response:
    return await receive_content(
        request, request.path_params["photo_id"], photos.expect_content, photos.finish_content
    )


async def get_photo(request: Request) -> Response:
    view = await call(request, photos.metadata, request.path_params["photo_id"], channel="api")
    return JSONResponse(view.json())


async def get_content(request: Request) -> Response:
    return ciphertext(
        await call(request, photos.content, request.path_params["photo_id"], channel="api")
    )


async def post_keys(request: Request) -> Response:
    data = await read_model(request, WrapIn)
    given = await call(request, photos.wrap, request.path_params["photo_id"], data, channel="api")
    return JSONResponse({"user_ids": given}, status_code=201)


async def post_tampered(request: Request) -> Response:
    data = await read_model(request, TamperedIn)
    await call(
        request, photos.report_tampered, request.path_params["photo_id"], data, channel="api"
    )
    return Response(status_code=204)


routes = [
    Route("/concerns/{contact_id}/recipients", get_recipients, methods=["GET"]),
    Route("/concerns/{contact_id}/photos", post_photo, methods=["POST"]),
    Route("/photos/{photo_id}", get_photo, methods=["GET"]),
    Route("/photos/{photo_id}/content", put_content, methods=["PUT"]),
    Route("/photos/{photo_id}/content", get_content, methods=["GET"]),
    Route("/photos/{photo_id}/keys", post_keys, methods=["POST"]),
    Route("/photos/{photo_id}/tampered", post_tampered, methods=["POST"]),
]
