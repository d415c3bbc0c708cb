"""Server-rendered pages (Jinja2 + htmx)."""

from __future__ import annotations

from starlette.routing import Route

from workspace.routes.pages import account, admin_mail, audit, auth, email_settings, rooms

routes: list[Route] = [
    *auth.routes,
    *rooms.routes,
    *audit.routes,
    *account.routes,
    *email_settings.routes,
    *admin_mail.routes,
]
