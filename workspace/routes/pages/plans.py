"""A room's plan page: the draft, read-only without JavaScript (the editor takes over its
mount point), the published versions, and the lead's form to publish the draft."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.services import rooms
from workspace.services.plans import clocks, compare, document, reading, versions
from workspace.templating import render
from workspace.web import call, form_token
from workspace.workdays import uk_date


def _context(access: Access, room_id: str) -> dict[str, Any]:
    plan = reading.get_plan(access, room_id)
    today = uk_date(access.now)
    since = plan.latest
    diff = compare.compare(since.plan, plan.draft) if since else None
    return {
        "deadlines": [
            {"sentence": clocks.describe(d), "overdue": d.overdue}
            for d in clocks.deadlines(plan.plan_type, plan.draft.get("key_dates"), today)
            if not d.met
        ],
        "overdue": [
            clocks.describe_overdue(o.action, today)
            for o in clocks.overdue_actions(plan.draft, today)
        ],
        "changes": compare.changes(diff) if diff else 0,
        "changes_sentence": (
            compare.sentence(diff, since=since.summary.version) if diff and since else ""
        ),
        "view": rooms.view_of(access, plan.room),
        "plan": plan,
        "draft": plan.draft,
        "text_fields": [(name, document.FIELD_LABELS[name]) for name in document.TEXT_FIELDS],
        "status_words": document.STATUS_WORDS,
    }


async def plan_page(request: Request) -> Response:
    context = await call(request, _context, request.path_params["room_id"])
    return render(request, "plan.html", context)


async def publish(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    summary = await call(request, versions.publish, room_id, form_token=form_token(form))
    return RedirectResponse(f"/rooms/{room_id}/plan?published={summary.version}", status_code=303)


routes = [
    Route("/rooms/{room_id}/plan", plan_page, methods=["GET"]),
    Route("/rooms/{room_id}/plan/versions", publish, methods=["POST"]),
]
