"""The JSON API under /api/v1 (DESIGN.md §6)."""

from __future__ import annotations

from starlette.routing import Route

from workspace.routes.api import (
    agency_events,
    audit,
    break_glass,
    chronology,
    files,
    flags,
    front_door,
    invitations,
    lead_tools,
    me,
    members,
    messages,
    notices,
    openapi,
    oversight,
    photos,
    plan_pdf,
    plans,
    preferences,
    room_history,
    rooms,
    sharing,
    viewers,
)

routes: list[Route] = [
    *rooms.routes,
    *agency_events.routes,
    *front_door.routes,
    *room_history.routes,
    *chronology.routes,
    *viewers.routes,
    *flags.routes,
    *members.routes,
    *invitations.routes,
    *lead_tools.routes,
    *sharing.routes,
    *messages.routes,
    *files.routes,
    *photos.routes,
    *plans.routes,
    *audit.routes,
    *oversight.routes,
    *break_glass.routes,
    *me.routes,
    *notices.routes,
    *preferences.routes,
    *plan_pdf.routes,
    *openapi.routes,
]
