"""The bell: /notifications lists the caller's notices; following one marks it read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.services import notices
from workspace.templating import env, render
from workspace.web import call, form_token


def _page(access: Access) -> dict[str, object]:
    return {"notices": notices.list_notices(access)}


async def notices_page(request: Request) -> Response:
    return render(request, "notices.html", await call(request, _page))


async def open_notice(request: Request) -> Response:
    link = await call(request, notices.open_notice, request.path_params["notice_id"])
    return RedirectResponse(link, status_code=303)


async def mark_all_read(request: Request) -> Response:
    form = await request.form()
    await call(request, notices.mark_all_read, form_token=form_token(form))
    return RedirectResponse("/notifications", status_code=303)


def _unread(request: Request) -> int:
    """For base.html: counted by web.call in the page's unit of work."""
    return int(getattr(request.state, "unread_notices", 0))


env.globals["unread_notices"] = _unread

routes = [
    Route("/notifications", notices_page, methods=["GET"]),
    Route("/notifications/read", mark_all_read, methods=["POST"]),
    Route("/notifications/{notice_id}", open_notice, methods=["GET"]),
]
