"""Undelivered email, for administrators (rule 9): who it was for, its state and the
error — never its subject or text — and "send again"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.services import outbox
from workspace.templating import render
from workspace.web import call, form_token


async def mail_page(request: Request) -> Response:
    overview = await call(request, outbox.overview)
    released = request.query_params.get("released") == "1"
    return render(request, "admin_mail.html", {"overview": overview, "released": released})


async def release(request: Request) -> Response:
    form = await request.form()
    await call(
        request,
        outbox.release,
        request.path_params["mail_id"],
        form_token=form_token(form),
    )
    return RedirectResponse("/admin/mail?released=1", status_code=303)


routes = [
    Route("/admin/mail", mail_page, methods=["GET"]),
    Route("/admin/mail/{mail_id}/release", release, methods=["POST"]),
]
