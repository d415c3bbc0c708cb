"""A room's plan over the JSON API (DESIGN.md §6 "Plans"), for systems that do not speak
Yjs: every change is made to the CRDT, so open editors see it live."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.services.plans import editing, reading, versions
from workspace.services.plans.inputs import ActionIn, ActionPatchIn, OutcomeIn, PlanPatchIn
from workspace.web import call, read_model

# A version number in a path: digits, as many as an int column holds.
_MAX_VERSION = 2**31 - 1


def version_number(request: Request) -> int:
    """The `{version}` of a path: a positive whole number, or nothing of this plan (404,
    decided and audited like any unknown version)."""
    raw = str(request.path_params["version"])
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
    return number if 0 < number <= _MAX_VERSION else 0


async def get_plan(request: Request) -> Response:
    view = await call(request, reading.get_plan, request.path_params["room_id"], channel="api")
    return JSONResponse(view.json())


async def patch_plan(request: Request) -> Response:
    data = await read_model(request, PlanPatchIn)
    draft = await call(
        request, editing.patch_plan, request.path_params["room_id"], data, channel="api"
    )
    return JSONResponse(draft)


async def post_outcome(request: Request) -> Response:
    data = await read_model(request, OutcomeIn)
    outcome = await call(
        request, editing.add_outcome, request.path_params["room_id"], data, channel="api"
    )
    return JSONResponse(outcome, status_code=201)


async def post_action(request: Request) -> Response:
    data = await read_model(request, ActionIn)
    params = request.path_params
    action = await call(
        request, editing.add_action, params["room_id"], params["outcome_id"], data,
        channel="api",
    )  # fmt: skip
    return JSONResponse(action, status_code=201)


async def patch_action(request: Request) -> Response:
    data = await read_model(request, ActionPatchIn)
    params = request.path_params
    action = await call(
        request, editing.patch_action, params["room_id"], params["action_id"], data,
        channel="api",
    )  # fmt: skip
    return JSONResponse(action)


async def post_version(request: Request) -> Response:
    summary = await call(
        request, versions.publish, request.path_params["room_id"], channel="api"
    )
    return JSONResponse(summary.json(), status_code=201)


async def get_version(request: Request) -> Response:
    number = version_number(request)
    published = await call(
        request, versions.read_version, request.path_params["room_id"], number, channel="api"
    )
    return JSONResponse(published.json())


async def list_versions(request: Request) -> Response:
    summaries = await call(
        request, versions.list_versions, request.path_params["room_id"], channel="api"
    )
    return JSONResponse({"items": [v.json() for v in summaries], "next": None})


routes = [
    Route("/rooms/{room_id}/plan", get_plan, methods=["GET"]),
    Route("/rooms/{room_id}/plan", patch_plan, methods=["PATCH"]),
    Route("/rooms/{room_id}/plan/outcomes", post_outcome, methods=["POST"]),
    Route("/rooms/{room_id}/plan/outcomes/{outcome_id}/actions", post_action, methods=["POST"]),
    Route("/rooms/{room_id}/plan/actions/{action_id}", patch_action, methods=["PATCH"]),
    Route("/rooms/{room_id}/plan/versions", list_versions, methods=["GET"]),
    Route("/rooms/{room_id}/plan/versions", post_version, methods=["POST"]),
    Route("/rooms/{room_id}/plan/versions/{version}", get_version, methods=["GET"]),
]
