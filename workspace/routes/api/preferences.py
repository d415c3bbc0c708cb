"""GET/PUT /api/v1/me/preferences: my email settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.services import preferences
from workspace.web import call, read_model


async def get_preferences(request: Request) -> Response:
    prefs = await call(request, preferences.get, channel="api")
    return JSONResponse(prefs.as_dict())


async def put_preferences(request: Request) -> Response:
    data = await read_model(request, preferences.PreferencesIn)
    prefs = await call(request, preferences.update, data, channel="api")
    return JSONResponse(prefs.as_dict())


routes = [
    Route("/me/preferences", get_preferences, methods=["GET"]),
    Route("/me/preferences", put_preferences, methods=["PUT"]),
]
