"""The room page's "Acknowledge" on an agency event the reader was told of (issue #14)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.services import agency_events
from workspace.web import call, form_token


async def acknowledge(request: Request) -> Response:
    form = await request.form()
    alert = await call(
        request,
        agency_events.acknowledge,
        request.path_params["message_id"],
        form_token=form_token(form),
    )
    return RedirectResponse(f"/rooms/{alert.room_id}#m-{alert.message_id}", status_code=303)


routes = [Route("/messages/{message_id}/acknowledge", acknowledge, methods=["POST"])]
