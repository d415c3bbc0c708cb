"""Server-rendered pages (Jinja2 + htmx)."""

from __future__ import annotations

from starlette.routing import Route

from workspace.routes.pages import account, audit, auth, rooms

routes: list[Route] = [*auth.routes, *rooms.routes, *audit.routes, *account.routes]
