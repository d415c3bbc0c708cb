"""Subject access (issue #15 item 3): the IG lead gives the request's reference and gets
the child's whole record as a PDF for redaction; producing it is audited."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.routes.pages.forms import SUBJECT_ACCESS_FIELDS, explain
from workspace.services import subject_access
from workspace.templating import render
from workspace.web import call, form_token, pdf_attachment, validate


def _form(access: Access, room_id: str) -> dict[str, Any]:
    room = access.room(room_id, subject_access.ACTION, audit_as="subject_access_form")
    return {"room": room, "values": {}}


async def form_page(request: Request) -> Response:
    context = await call(request, _form, request.path_params["room_id"])
    return render(request, "subject_access.html", context)


async def produce(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    values = {"reference": str(form.get("reference") or "").strip()}
    try:
        data = validate(subject_access.RequestIn, {k: v for k, v in values.items() if v})
        bundle = await call(request, subject_access.produce, room_id, data,
                            form_token=form_token(form))  # fmt: skip
    except Invalid as exc:
        context = await call(request, _form, room_id, form_token=form_token(form))
        context.update(errors=explain(exc, SUBJECT_ACCESS_FIELDS), values=values)
        return render(request, "subject_access.html", context, status_code=422)
    # Drawn off the event loop, after the production was audited and committed.
    body = await run_in_threadpool(subject_access.render_pdf, bundle)
    return pdf_attachment(body, subject_access.filename(bundle))


routes = [
    Route("/rooms/{room_id}/subject-access", form_page, methods=["GET"]),
    Route("/rooms/{room_id}/subject-access", produce, methods=["POST"]),
]
