"""The emailed link to set a password (issue #16): a new account's first password, or a
new one after an administrator sent a fresh link. Nobody is signed in here; the form is
guarded by a same-site cookie like the sign-in form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import CaseroomError, NotFound, RateLimited
from workspace.routes.pages.auth import FormCookie
from workspace.services import password_links
from workspace.templating import render
from workspace.web import call

PASSWORD_FORM = FormCookie("caseroom_password", "password_token", "/password")


def _unusable(request: Request, exc: CaseroomError) -> Response:
    """One page for every bad link, with no hint of whose account it was."""
    message = exc.message if isinstance(exc, RateLimited) else None
    return render(request, "password_link_invalid.html", {"message": message},
                  status_code=exc.status)  # fmt: skip


async def set_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = request.path_params["token"]
    try:
        user = await call(request, password_links.open_link, token, auth="none")
    except (NotFound, RateLimited) as exc:
        return _unusable(request, exc)
    form_token = PASSWORD_FORM.new_token()
    response = render(
        request,
        "password_set.html",
        {"name": user.name, "email": user.email, "token": token,
         "password_token": form_token, "error": error},
        status_code=status,
    )  # fmt: skip
    PASSWORD_FORM.issue(request, response, form_token)
    return response


async def set_password(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form()
    if not PASSWORD_FORM.matches(request, form):
        return await set_page(request, "The form expired. Please try again.", 400)

    def work(access: Access) -> object:
        return password_links.set_password(
            access, token, str(form.get("password", "")), str(form.get("password_again", ""))
        )

    try:
        await call(request, work, auth="none")
    except (NotFound, RateLimited) as exc:
        return _unusable(request, exc)
    except CaseroomError as exc:
        return await set_page(request, exc.message, exc.status)
    response = RedirectResponse("/login?password=set", status_code=303)
    PASSWORD_FORM.clear(response)
    return response


routes = [
    Route("/password/{token}", set_page, methods=["GET"]),
    Route("/password/{token}", set_password, methods=["POST"]),
]
