"""ASGI middleware: request ids, security headers, and body limits enforced while
streaming (DESIGN.md §9)."""

from __future__ import annotations

import json
import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# 'wasm-unsafe-eval' lets libsodium's WebAssembly compile (end-to-end encrypted files) and
# nothing else: no eval, no inline script. blob: is for previewing a file decrypted in the
# browser (images and PDF only: files.js never previews a type that could run script).
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; frame-src blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def add_security_headers(headers: MutableHeaders, *, https: bool, cacheable: bool = False) -> None:
    """The headers of DESIGN.md §9. Also used by the 500 handler, whose answer is sent from
    outside this middleware (Starlette's ServerErrorMiddleware wraps it)."""
    headers["Content-Security-Policy"] = CSP
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not cacheable:
        headers["Cache-Control"] = "no-store"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                add_security_headers(headers, https=self.https, cacheable=is_static)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse bodies over `limit` bytes: at once from Content-Length, and while streaming
    for chunked uploads, so an oversized body is never buffered whole. `streams`: paths
    (PUT) that take a larger body, streamed to disk by their route, and their own limit."""

    def __init__(
        self, app: ASGIApp, *, limit: int, streams: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.app = app
        self.default_limit = limit
        self.streams = tuple((re.compile(pattern), size) for pattern, size in streams)

    def _limit_for(self, scope: Scope) -> int:
        if scope.get("method") == "PUT":
            for pattern, size in self.streams:
                if pattern.fullmatch(scope["path"]):
                    return size
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(limit, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._too_large(limit, send)

    async def _too_large(self, limit: int, send: Send) -> None:
        body = json.dumps(
            {"error": {"code": "too_large", "message": f"The body is over {limit} bytes."}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
