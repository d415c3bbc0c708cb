"""The JSON API under /api/v1 (DESIGN.md §6)."""

from __future__ import annotations

from starlette.routing import Route

from workspace.routes.api import audit, me, members, messages, openapi, preferences, rooms

routes: list[Route] = [
    *rooms.routes,
    *members.routes,
    *messages.routes,
    *audit.routes,
    *me.routes,
    *preferences.routes,
    *openapi.routes,
]
