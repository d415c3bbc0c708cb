"""create_app(settings) -> Starlette: routes, middleware, error pages, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from workspace.errors import CaseroomError
from workspace.middleware import BodyLimit, SecurityHeaders, add_security_headers
from workspace.routes import api, pages
from workspace.settings import Settings
from workspace.state import Caseroom
from workspace.templating import render
from workspace.web import SignInNeeded, app_of

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("caseroom")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Response:
    if _is_api(request):
        error: dict[str, object] = {"code": code, "message": message}
        if fields:
            error["fields"] = fields
        return JSONResponse({"error": error, **(extra or {})}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


async def on_caseroom_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CaseroomError)
    return _error_response(
        request, exc.status, exc.code, exc.message, getattr(exc, "fields", None), exc.extra
    )


async def on_sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": exc.location})
    return RedirectResponse(exc.location, status_code=303)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "We could not find that page.", 405: "That method is not allowed here."}
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = _error_response(
        request, exc.status_code, code, messages.get(exc.status_code, str(exc.detail))
    )
    if exc.status_code == 405:
        # Starlette's Allow names the methods of the first route that matched the path
        # only; a path served by several routes (GET and POST /rooms) allows all of theirs.
        response.headers["Allow"] = ", ".join(sorted(allowed_methods(request.app, request.scope)))
    return response


def allowed_methods(app: Starlette, scope: Scope) -> set[str]:
    """Every method some route serves at the request's path (RFC 9110: 405 has Allow)."""
    allowed: set[str] = set()

    def walk(routes: Sequence[BaseRoute], scope: Scope) -> None:
        for route in routes:
            match, child = route.matches(scope)
            if match == Match.NONE:
                continue
            if isinstance(route, Mount):
                walk(route.routes, {**scope, **child})
            elif isinstance(route, Route) and route.methods:
                allowed.update(route.methods)

    # From the top again: routing has already moved the scope's root_path into the mount.
    top = {"type": "http", "method": "OPTIONS", "path": scope["path"],
           "root_path": scope.get("app_root_path", ""), "path_params": {}}  # fmt: skip
    walk(app.router.routes, top)
    return allowed


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = _error_response(
        request,
        500,
        "internal",
        "Something went wrong on our side. Nothing you sent was half-saved; please try again.",
    )
    # Sent from outside the SecurityHeaders middleware: add its headers here.
    add_security_headers(response.headers, https=app_of(request).settings.https)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        response.headers["X-Request-Id"] = request_id
    return response


def create_app(settings: Settings | None = None, caseroom: Caseroom | None = None) -> Starlette:
    caseroom = caseroom or Caseroom.build(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await caseroom.live.start()
        try:
            yield
        finally:
            await caseroom.live.stop()
            caseroom.db.dispose()

    app = Starlette(
        routes=[
            Mount("/api/v1", routes=api.routes),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            *pages.routes,
            Route("/healthz", lambda _r: JSONResponse({"ok": True})),
        ],
        middleware=[
            Middleware(SecurityHeaders, https=caseroom.settings.https),
            Middleware(
                BodyLimit,
                limit=caseroom.settings.max_body_bytes,
                # Encrypted files stream to disk (workspace/services/files/store.py).
                streams=((r"/api/v1/files/[^/]+/content", caseroom.settings.max_file_bytes),),
            ),
        ],
        exception_handlers={
            CaseroomError: on_caseroom_error,
            SignInNeeded: on_sign_in_needed,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.caseroom = caseroom
    return app
