"""The OpenAPI document at /api/v1/openapi.json, built from the same input models the
routes validate with, so it cannot drift from what the API accepts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.schemas import MemberIn, MessageEditIn, MessageIn, RoomIn
from workspace.services.break_glass import BreakGlassIn
from workspace.services.invitations import InviteIn
from workspace.services.lead_tools import LeadIn, MemberChangeIn
from workspace.services.preferences import PreferencesIn
from workspace.services.sharing import NotShareIn, ShareIn

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object"},
            },
        }
    },
}
_LIST = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"type": ["string", "null"]},
    },
}
_PAGING = [
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _op(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    ok: int = 200,
    params: list[dict[str, Any]] | None = None,
    listing: bool = False,
    description: str | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {
            "description": "OK",
            "content": {"application/json": {"schema": _LIST if listing else {"type": "object"}}},
        }
        if ok != 204
        else {"description": "Done"},
    }
    for status, what in (
        ("400", "Malformed request"),
        ("401", "Not signed in"),
        ("403", "Not allowed"),
        ("404", "Not found, or not yours to know of"),
        ("409", "Conflict"),
        ("413", "Too large"),
        ("422", "Invalid input"),
    ):
        responses[status] = {
            "description": what,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op: dict[str, Any] = {
        "summary": summary,
        "responses": responses,
        "parameters": list(params or []),
    }
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    models: tuple[type[BaseModel], ...] = (
        *(RoomIn, MemberIn, InviteIn, MessageIn, MessageEditIn, PreferencesIn, BreakGlassIn),
        *(MemberChangeIn, LeadIn, ShareIn, NotShareIn),
    )
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    room, message = _path("room_id"), _path("message_id")
    audit_params = [
        {"name": n, "in": "query", "schema": {"type": "string"}}
        for n in ("room_id", "actor_id", "action", "outcome", "since", "until")
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Caseroom API",
            "version": "1",
            "description": "Every call is authorised by the need-to-know policy and "
            "written to the audit log. Send `Authorization: Bearer <token>` "
            "(`caseroom token create EMAIL`) and optionally `X-Caseroom-Purpose`.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/me": {"get": _op("Who am I")},
            "/me/preferences": {
                "get": _op("My email settings (digest, notifications, muted rooms)"),
                "put": _op("Change my email settings", body=PreferencesIn),
            },
            "/rooms": {
                "get": _op("My rooms", params=_PAGING, listing=True),
                "post": _op(
                    "Open a case room for a child",
                    body=RoomIn,
                    ok=201,
                    description="One child has one open room. A child who matches an open "
                    "room (NHS number, UPN, or name with date of birth; case, spaces, "
                    "accents, hyphens and apostrophes aside) gets no second one: 409 "
                    '`{"error": {"code": "child_has_room", "message"}, "lead": {"name", '
                    '"organisation", "email"}, "room": {"reference"}}`, and the lead is '
                    "told who asked (in the app and by email). More than 10 such answers "
                    "in an hour: 429.",
                ),
            },
            "/rooms/{room_id}": {"get": _op("A room", params=[room])},
            "/rooms/{room_id}/members": {
                "get": _op("Members of a room", params=[room], listing=True),
                "post": _op(
                    "Add a member (lead only): 201 with the member; for an email with no "
                    "account, 202 with an invitation sent by email",
                    body=InviteIn,
                    ok=201,
                    params=[room],
                    description=(
                        "For an email with no account, say which organisation they work "
                        "for: either `organisation_id`, the id of an existing organisation, "
                        "or a new external one as `organisation_name` and "
                        "`organisation_kind` (a name that matches an existing organisation, "
                        "whatever its case, reuses it), not both. Both, or an unknown "
                        "`organisation_id`, answer 422 with the fields at fault. The "
                        "organisation fields are ignored for someone who has an account."
                    ),
                ),
            },
            "/rooms/{room_id}/invitations": {
                "get": _op("Pending invitations (lead only)", params=[room], listing=True),
            },
            "/rooms/{room_id}/invitations/{invitation_id}": {
                "delete": _op(
                    "Revoke an invitation (lead only)",
                    ok=204,
                    params=[room, _path("invitation_id")],
                )
            },
            "/rooms/{room_id}/members/{user_id}": {
                "delete": _op(
                    "Remove a member (lead only)", ok=204, params=[room, _path("user_id")]
                ),
                "patch": _op(
                    "Change a member's role or a guest's end date (lead only); widening "
                    "access needs purpose, lawful basis and consent (a sharing decision)",
                    body=MemberChangeIn,
                    params=[room, _path("user_id")],
                ),
            },
            "/rooms/{room_id}/lead": {
                "post": _op(
                    "Hand the lead role to a local-authority member (lead only)",
                    body=LeadIn,
                    ok=204,
                    params=[room],
                )
            },
            "/rooms/{room_id}/close": {
                "post": _op(
                    "Close the room (lead only): read-only for members, guests lose access",
                    ok=204,
                    params=[room],
                )
            },
            "/rooms/{room_id}/shares": {
                "post": _op(
                    "Share an earlier message with someone in the room (lead only; a "
                    "recorded sharing decision). Files: 422 for now",
                    body=ShareIn,
                    ok=201,
                    params=[room],
                )
            },
            "/rooms/{room_id}/history": {
                "get": _op(
                    "The room's history: who was added, invited, removed, made a guest or "
                    "the lead, and when it closed (newest first; lead and members)",
                    params=[room],
                    listing=True,
                )
            },
            "/rooms/{room_id}/sharing-decisions": {
                "get": _op("The room's sharing record", params=[room], listing=True),
                "post": _op(
                    "Record a decision not to share (lead and members)",
                    body=NotShareIn,
                    ok=201,
                    params=[room],
                ),
            },
            "/rooms/{room_id}/messages": {
                "get": _op("Messages I may read", params=[room, *_PAGING], listing=True),
                "post": _op("Post a message", body=MessageIn, ok=201, params=[room]),
            },
            "/messages/{message_id}": {
                "patch": _op("Edit my message (history kept)", body=MessageEditIn, params=[message])
            },
            "/messages/{message_id}/retract": {"post": _op("Retract my message", params=[message])},
            "/messages/{message_id}/history": {
                "get": _op("Earlier versions of a message", params=[message], listing=True)
            },
            "/audit": {
                "get": _op(
                    "Access log I may review", params=[*audit_params, *_PAGING], listing=True
                )
            },
            "/audit/verify": {"get": _op("Verify the audit hash chain")},
            "/notifications": {
                "get": _op(
                    "My newest notifications (content-free: a room reference, a name, a link)",
                    listing=True,
                )
            },
            "/notifications/read": {"post": _op("Mark all my notifications read")},
            "/break-glass": {
                "post": _op(
                    "Break-glass (safeguarding partners): find a room by an exact NHS number, "
                    "or name and date of birth, and open it read-only for 4 hours with a "
                    "reason. No match and not allowed both answer 404; 429 when rate-limited.",
                    body=BreakGlassIn,
                    ok=201,
                )
            },
        },
    }


async def openapi(_request: Request) -> Response:
    return JSONResponse(document())


routes = [Route("/openapi.json", openapi, methods=["GET"])]
