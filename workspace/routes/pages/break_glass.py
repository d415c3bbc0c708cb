"""The "Find a child" page (rule 8): search by an exact identifier, see that a room
exists, give a reason and open it read-only for 4 hours. Also the break-glass banner that
every page shows."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.errors import Invalid, NotFound, RateLimited
from workspace.routes.pages.forms import BREAK_GLASS_FIELDS, explain
from workspace.services import break_glass
from workspace.templating import env, render
from workspace.web import call, form_token, validate

QUERY_FIELDS = ("nhs_number", "name", "date_of_birth")
NEUTRAL = (
    "No case room was found that you can open with these details. Check them: only an "
    "exact NHS number, or the exact full name with the date of birth, finds a room."
)


def _values(form: FormData, *names: str) -> dict[str, str]:
    return {n: str(form[n]).strip() for n in names if str(form.get(n) or "").strip()}


def _errors(exc: Invalid, values: dict[str, str]) -> dict[str, str]:
    """What a practitioner can act on, by field. The form's one rule across fields (an NHS
    number, or a name with a date of birth) comes back without a field: put it on the one
    that is missing."""
    if "body" in exc.fields:
        has = {name for name in QUERY_FIELDS if values.get(name)}
        if "nhs_number" in has and has & {"name", "date_of_birth"}:
            return {"nhs_number": "Search by the NHS number, or by the full name and date of "
                    "birth, not both"}  # fmt: skip
        if has & {"name", "date_of_birth"}:
            return {n: BREAK_GLASS_FIELDS[n].missing for n in ("name", "date_of_birth")
                    if n not in has}  # fmt: skip
        return {"nhs_number": BREAK_GLASS_FIELDS["nhs_number"].missing}
    return explain(exc, BREAK_GLASS_FIELDS)


async def find_page(request: Request) -> Response:
    await call(request, break_glass.offer)
    return render(request, "break_glass.html", {"values": {}})


async def search(request: Request) -> Response:
    form = await request.form()
    values = _values(form, *QUERY_FIELDS)
    context: dict[str, Any] = {"values": values}
    try:
        query = validate(break_glass.ChildQuery, values)
        found = await call(request, break_glass.search, query, form_token=form_token(form))
    except Invalid as exc:
        await call(request, break_glass.offer, form_token=form_token(form))
        context["errors"] = _errors(exc, values)
        return render(request, "break_glass.html", context, status_code=422)
    except NotFound:
        context["not_found"] = NEUTRAL
        return render(request, "break_glass.html", context, status_code=404)
    except RateLimited as exc:
        context["errors"] = {"": exc.message}
        return render(request, "break_glass.html", context, status_code=429)
    context["found"] = found
    return render(request, "break_glass.html", context)


async def open_room(request: Request) -> Response:
    form = await request.form()
    values = _values(form, *QUERY_FIELDS, "reason")
    context: dict[str, Any] = {"values": values, "confirming": True}
    try:
        data = validate(break_glass.BreakGlassIn, values)
        opened = await call(request, break_glass.open_room, data, form_token=form_token(form))
    except Invalid as exc:
        await call(request, break_glass.offer, form_token=form_token(form))
        context["errors"] = _errors(exc, values)
        return render(request, "break_glass.html", context, status_code=422)
    except NotFound:
        context = {"values": values, "not_found": NEUTRAL}
        return render(request, "break_glass.html", context, status_code=404)
    except RateLimited as exc:
        context["errors"] = {"": exc.message}
        return render(request, "break_glass.html", context, status_code=429)
    return RedirectResponse(f"/rooms/{opened.room_id}", status_code=303)


def _banner(request: Request) -> break_glass.Banner | None:
    """For base.html and room.html: computed by web.call in the page's unit of work."""
    return getattr(request.state, "break_glass_banner", None)


env.globals["break_glass_banner"] = _banner

routes = [
    Route("/break-glass", find_page, methods=["GET"]),
    Route("/break-glass/search", search, methods=["POST"]),
    Route("/break-glass/open", open_room, methods=["POST"]),
]
