"""Server-rendered pages (Jinja2 + htmx)."""

from __future__ import annotations

from starlette.routing import Route

from workspace.routes.pages import (
    account,
    admin_mail,
    admin_users,
    agency_events,
    audit,
    auth,
    break_glass,
    chronology,
    email_settings,
    files,
    flags,
    front_door,
    invitations,
    lead_tools,
    notices,
    plan_versions,
    plans,
    room_history,
    rooms,
    sharing,
    should_i_share,
    sso,
    subject_access,
    viewers,
)

routes: list[Route] = [
    *auth.routes,
    *sso.routes,
    *rooms.routes,
    *agency_events.routes,
    *front_door.routes,
    *room_history.routes,
    *chronology.routes,
    *viewers.routes,
    *flags.routes,
    *plans.routes,
    *files.routes,
    *invitations.routes,
    *lead_tools.routes,
    *sharing.routes,
    *should_i_share.routes,
    *subject_access.routes,
    *audit.routes,
    *account.routes,
    *email_settings.routes,
    *admin_mail.routes,
    *admin_users.routes,
    *break_glass.routes,
    *notices.routes,
    *plan_versions.routes,
]
