"""The exception tree, written down once and mapped to HTTP in one handler."""

from __future__ import annotations


class CaseroomError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."
    # Fields of the JSON answer beside "error" (e.g. the lead of a child's existing room).
    extra: dict[str, object] | None = None
    # The service committed what it did before refusing (an audit record, a notice): its
    # live events go out like those of a success.
    committed = False

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code


class BadRequest(CaseroomError):
    status, code, message = 400, "bad_request", "The request could not be read."


class Unauthorized(CaseroomError):
    status, code, message = 401, "unauthenticated", "Sign in to continue."


class Forbidden(CaseroomError):
    status, code, message = 403, "forbidden", "You are not allowed to do that."


class NotFound(CaseroomError):
    """Also what anyone gets for a thing they may not know exists."""

    status, code, message = 404, "not_found", "Not found."


class Conflict(CaseroomError):
    status, code, message = 409, "conflict", "That conflicts with the current state."


class ChildHasRoom(Conflict):
    """The child of a room being opened has an open room already: nothing was created.
    Says who leads it (so the asker can ask to join), never what is in it."""

    status, code, committed = 409, "child_has_room", True

    def __init__(
        self, message: str, *, reference: str, lead: dict[str, str], in_room: bool = False
    ) -> None:
        super().__init__(message, code="child_has_room")
        self.reference = reference
        self.lead = lead
        self.in_room = in_room  # the asker is in that room already
        self.extra = {"lead": lead, "room": {"reference": reference}}


class TooLarge(CaseroomError):
    status, code, message = 413, "too_large", "The request is too large."


class Invalid(CaseroomError):
    status, code, message = 422, "invalid", "Some of the input is not valid."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class RateLimited(CaseroomError):
    status, code, message = 429, "rate_limited", "Too many attempts. Try again later."


class Unavailable(CaseroomError):
    """The database failed or refused the unit of work (a deadlock with another server's
    transaction, a lost connection): nothing of it was written, and it may be sent again."""

    status, code, message = 503, "unavailable", "That could not be saved just now. Try again."


class AuditUnavailable(CaseroomError):
    """The audit write failed: the read or write it guarded must fail with it."""

    status, code, message = 503, "audit_unavailable", "The audit log could not be written."
