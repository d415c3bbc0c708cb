"""The access flags page: each flag in a sentence, and a form to mark it reviewed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.errors import Invalid
from workspace.services import flags
from workspace.templating import render
from workspace.web import call, form_token, validate


async def flags_page(request: Request) -> Response:
    found = await call(request, flags.list_flags)
    return render(request, "flags.html", {"flags": found, "rule": flags.MANY_ROOMS_RULE})


async def review(request: Request) -> Response:
    form = await request.form()
    csrf = form_token(form)
    flag_id = request.path_params["flag_id"]
    try:
        data = validate(flags.FlagReviewIn, {"note": str(form.get("note") or "").strip()})
    except Invalid as exc:
        found = await call(request, flags.list_flags, form_token=csrf)
        context = {"flags": found, "rule": flags.MANY_ROOMS_RULE, "error": exc.message,
                   "errors": exc.fields, "failed": flag_id}  # fmt: skip
        return render(request, "flags.html", context, status_code=422)
    await call(request, flags.review, flag_id, data, form_token=csrf)
    return RedirectResponse("/audit/flags", status_code=303)


routes = [
    Route("/audit/flags", flags_page, methods=["GET"]),
    Route("/audit/flags/{flag_id}/review", review, methods=["POST"]),
]
