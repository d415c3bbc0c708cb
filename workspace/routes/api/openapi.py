"""The OpenAPI document at /api/v1/openapi.json, built from the same input models the
routes validate with, so it cannot drift from what the API accepts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace.models.chronology import TYPE_LABELS
from workspace.models.message import ITEM_KINDS
from workspace.schemas import MemberIn, MessageEditIn, MessageIn, RemovalIn, RoomIn
from workspace.services.agency_events import AgencyEventIn
from workspace.services.audit_actions import ACTION_LABELS, CHANNELS
from workspace.services.break_glass import BreakGlassIn
from workspace.services.chronology import EntryIn
from workspace.services.files.inputs import FileIn, KeysIn, TamperedIn, WrapIn
from workspace.services.flags import FlagReviewIn
from workspace.services.front_door import ConcernIn, DecisionIn, RatingIn
from workspace.services.invitations import InviteIn
from workspace.services.lead_tools import LeadIn, MemberChangeIn
from workspace.services.plans.inputs import ActionIn, ActionPatchIn, OutcomeIn, PlanPatchIn
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

_KIND = {
    "name": "kind",
    "in": "query",
    "schema": {"type": "string", "enum": list(ITEM_KINDS)},
    "description": "only entries of this kind (422 for any other value)",
}


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
    also: dict[int, str] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation. `also`: other success statuses (e.g. 200 for a repeated post);
    `public`: no credentials needed."""
    success = {"application/json": {"schema": _LIST if listing else {"type": "object"}}}
    responses: dict[str, Any] = {
        str(ok): {"description": "OK", "content": success} if ok != 204 else {"description": "Done"}
    }
    for extra, about in (also or {}).items():
        responses[str(extra)] = {"description": about, "content": success}
    for status, what in (
        ("400", "Malformed request"),
        ("401", "Not signed in"),
        ("403", "Not allowed"),
        ("404", "Not found, or not yours to know of"),
        ("409", "Conflict"),
        ("413", "Too large"),
        ("422", "Invalid input"),
        ("429", "Too many attempts (invalid API tokens from one address, searches)"),
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
    if public:
        op["security"] = []
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return op


def _binary(op: dict[str, Any]) -> dict[str, Any]:
    """An operation whose success is bytes (a file's ciphertext), not JSON."""
    octets = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    return {**op, "responses": {**op["responses"], "200": {"description": "OK",
                                                            "content": octets}}}


def _pdf(op: dict[str, Any]) -> dict[str, Any]:
    """An operation whose success is a PDF document."""
    pdf = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    return {**op, "responses": {**op["responses"], "200": {"description": "OK", "content": pdf}}}


def _csv(op: dict[str, Any]) -> dict[str, Any]:
    """An operation whose success is a CSV document."""
    csv = {"text/csv": {"schema": {"type": "string"}}}
    return {**op, "responses": {**op["responses"], "200": {"description": "OK", "content": csv}}}


def _query(name: str, *, required: bool = False, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **({"enum": enum} if enum else {})}
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    models: tuple[type[BaseModel], ...] = (
        *(RoomIn, MemberIn, InviteIn, MessageIn, MessageEditIn, PreferencesIn, BreakGlassIn),
        *(MemberChangeIn, LeadIn, ShareIn, NotShareIn, RemovalIn),
        *(KeysIn, FileIn, WrapIn, TamperedIn),
        *(PlanPatchIn, OutcomeIn, ActionIn, ActionPatchIn),
        *(AgencyEventIn, ConcernIn, RatingIn, DecisionIn),
    )
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    room, message, file = _path("room_id"), _path("message_id"), _path("file_id")
    contact, photo = _path("contact_id"), _path("photo_id")
    day = {"type": "string", "format": "date"}
    chronology_filters = [
        _query("agency"), _query("type", enum=list(TYPE_LABELS)),
        {"name": "since", "in": "query", "required": False, "schema": day},
        {"name": "until", "in": "query", "required": False, "schema": day},
    ]  # fmt: skip
    audit_params = [
        *(_query(n) for n in ("room_id", "room", "actor_id", "person", "organisation")),
        _query("action", enum=sorted(ACTION_LABELS)),
        _query("outcome", enum=["allowed", "denied"]),
        _query("channel", enum=list(CHANNELS)),
        *(_query(n) for n in ("visit", "from", "to", "since", "until")),
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
                "get": _op(
                    "My rooms (newest first)",
                    params=[*_PAGING, _query("status", enum=["open", "closed"])],
                    listing=True,
                ),
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
                    also={202: "An invitation was sent by email (no account yet)"},
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
                    "Remove a member (lead only), saying why",
                    body=RemovalIn,
                    ok=204,
                    params=[room, _path("user_id")],
                    description=(
                        'A JSON body `{"reason": "..."}` (1-1000 characters) is required; '
                        "without it: 422. The reason is kept with the membership, in the "
                        "audit record, and told in the room's history to its lead and members."
                    ),
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
                    "recorded sharing decision). Files are shared by wrapping their key: "
                    "POST /files/{file_id}/keys",
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
            "/audit/flags": {
                "get": _op(
                    "Flags that draw a manager's eye in the access log of the rooms I review "
                    "(break_glass, denied, out_of_hours, many_rooms, restricted, "
                    "guest_ending), each with an `explanation`; open ones first (managers "
                    "and IG leads)",
                    listing=True,
                )
            },
            "/audit/flags/{flag_id}/review": {
                "post": _op(
                    "Mark a flag reviewed with a note (audited)",
                    body=FlagReviewIn,
                    params=[_path("flag_id")],
                )
            },
            "/rooms/{room_id}/viewers": {
                "get": _op(
                    "Who has seen this child: each person who viewed the room or an item in "
                    "it, through what (`via`: lead, member, guest or break_glass, with its "
                    "`reason`), first and last view and how many (from the access log; the "
                    "room's lead, the lead's team manager and IG lead only)",
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
                "get": _op(
                    "Messages I may read (oldest first): after `cursor` (or `since`, a message "
                    "id), or before `before`; `receipts=1` adds who has read each; `kind` keeps "
                    "one kind of entry (e.g. `voice_of_child`), still only what I may read",
                    params=[
                        room,
                        *_PAGING,
                        *(_query(n) for n in ("since", "before", "receipts")),
                        _KIND,
                    ],
                    listing=True,
                ),
                "post": _op(
                    "Post a message (`not_notified`: its @handles that reached nobody)",
                    body=MessageIn,
                    ok=201,
                    also={200: "The same client_id was posted already: that message"},
                    params=[room],
                ),
            },
            "/rooms/{room_id}/search": {
                "get": _op(
                    "Search the messages I may read in a room (full text; the audit records "
                    "that a search happened, not its terms)",
                    params=[room, _query("q", required=True), _PAGING[1]],
                    listing=True,
                )
            },
            "/messages/{message_id}/acknowledge": {
                "post": _op(
                    "Acknowledge an agency event you were told of (issue #14): recorded "
                    '`{"message_id", "room_id", "acknowledged_at", "due_at"}`; again changes '
                    "nothing. 404 for a message that is not an agency event you may read.",
                    params=[message],
                )
            },
            "/messages/{message_id}/read": {
                "post": _op(
                    "Mark the room read up to this message (people in the room only)",
                    ok=204,
                    params=[message],
                )
            },
            "/messages/{message_id}/exposure": {
                "get": _op(
                    "Who could have seen this message, from when, and their audited views "
                    "since (no message text; the room's lead, the lead's team manager and IG "
                    "lead only)",
                    params=[message],
                )
            },
            "/messages/{message_id}": {
                "patch": _op("Edit my message (history kept)", body=MessageEditIn, params=[message])
            },
            "/messages/{message_id}/retract": {"post": _op("Retract my message", params=[message])},
            "/messages/{message_id}/history": {
                "get": _op("Earlier versions of a message", params=[message], listing=True)
            },
            "/me/keys": {
                "get": _op("My keys: public keys, and my private keys sealed under my "
                           "passphrase (only ever sent to me); 404 before I publish any"),
                "put": _op(
                    "Publish my keys (end-to-end encrypted files). New public keys make the "
                    "file keys sealed to the old ones useless: they are deleted",
                    body=KeysIn,
                ),
            },
            "/users/{user_id}/keys": {
                "get": _op(
                    "Someone's public keys and fingerprint: 404 unless we share a room",
                    params=[_path("user_id")],
                )
            },
            "/rooms/{room_id}/recipients": {
                "get": _op(
                    "Who must receive the key of a file of this sensitivity uploaded by me "
                    "now: `items` [{user, box_public, sign_public, fingerprint}], and "
                    "`waiting` (entitled, no keys yet)",
                    params=[room, {"name": "sensitivity", "in": "query", "schema": {
                        "type": "string", "enum": ["room", "restricted"]}}],
                )
            },
            "/rooms/{room_id}/files": {
                "get": _op("Files I may read, newest first (with my sealed key, if any)",
                           params=[room, *_PAGING], listing=True),
                "post": _op(
                    "Share a file (its metadata, signed manifest and one sealed key for each "
                    "recipient): 201 {id, upload}; 409 `recipients_changed` with `recipients` "
                    "and `waiting` when the keys are not for exactly the current recipients",
                    body=FileIn, ok=201, params=[room],
                ),
            },
            "/files/{file_id}": {
                "get": _op("A file's metadata, manifest and my own sealed key", params=[file])
            },
            "/files/{file_id}/content": {
                "get": _binary(
                    _op(
                        "The ciphertext (application/octet-stream; audited as a download)",
                        params=[file],
                    )
                ),
                "put": {
                    **_op(
                        "Upload the ciphertext (uploader, once): streamed to disk; 413 past "
                        "CASEROOM_MAX_FILE_BYTES, 422 when size or sha256 differ (nothing kept)",
                        ok=204, params=[file],
                    ),
                    "requestBody": {"required": True, "content": {
                        "application/octet-stream": {"schema": {"type": "string",
                                                                "format": "binary"}}}},
                },
            },
            "/files/{file_id}/keys": {
                "post": _op(
                    "Wrap the file key for more people (holders). Someone who was entitled "
                    "at upload needs no reasons; the lead's share with a guest or a newer "
                    "member is a sharing decision (purpose, lawful_basis, consent)",
                    body=WrapIn, ok=201, params=[file],
                )
            },
            "/files/{file_id}/tampered": {
                "post": _op("Report that a download failed verification (audited)",
                            body=TamperedIn, ok=204, params=[file])
            },
            "/files/{file_id}/exposure": {
                "get": _op(
                    "Who could have seen this file, from when, who holds its key, their "
                    "audited views of the room and downloads of the file (no name, no key, "
                    "no content; the room's lead, the lead's team manager and IG lead only)",
                    params=[file],
                )
            },
            "/rooms/{room_id}/plan": {
                "get": _op(
                    "The room's plan: `type`, the `draft` (everyone in the room reads it; "
                    "nothing in a plan is restricted to one organisation), the `published` "
                    "versions I may read (a guest: from the one agreed when they joined), "
                    "`deadlines` and `overdue_actions` (working days)",
                    params=[room],
                ),
                "patch": _op(
                    "Change the draft (lead and members, open room): `key_dates` (`null` "
                    "removes one; `reviews` replaces the list), `category` (child protection "
                    "plans only), text fields (each replaced whole). Open editors see it live",
                    body=PlanPatchIn,
                    params=[room],
                ),
            },
            "/rooms/{room_id}/plan/outcomes": {
                "post": _op(
                    "Add an outcome to the draft (lead and members): 201 with the outcome",
                    body=OutcomeIn, ok=201, params=[room],
                )
            },
            "/rooms/{room_id}/plan/outcomes/{outcome_id}/actions": {
                "post": _op(
                    "Add an action under an outcome (lead and members); its owner must be "
                    "the lead or a member of the room: 201 with the action",
                    body=ActionIn, ok=201, params=[room, _path("outcome_id")],
                )
            },
            "/rooms/{room_id}/plan/actions/{action_id}": {
                "patch": _op(
                    "Change an action's status, evidence (replaced whole), due date or owner "
                    "(`null` clears a due date or an owner)",
                    body=ActionPatchIn, params=[room, _path("action_id")],
                )
            },
            "/rooms/{room_id}/plan/versions": {
                "get": _op("The published versions I may read, oldest first", params=[room],
                           listing=True),
                "post": _op(
                    "Publish the draft as the next version, signed off by me (lead only): "
                    "201 {version, signed_by, signed_at}. A version never changes",
                    ok=201, params=[room],
                ),
            },
            "/rooms/{room_id}/plan/versions/{version}": {
                "get": _op(
                    "A published version as signed off: {version, signed_by, signed_at, "
                    "plan}; 404 for one I may not read",
                    params=[room, {"name": "version", "in": "path", "required": True,
                                   "schema": {"type": "integer", "minimum": 1}}],
                )
            },
            "/rooms/{room_id}/plan/versions/{version}/pdf": {
                "get": _pdf(
                    _op(
                        "A published version of the plan as a PDF (attachment "
                        "plan-REFERENCE-vN.pdf; audited as an export)",
                        params=[room, {"name": "version", "in": "path", "required": True,
                                       "schema": {"type": "integer", "minimum": 1}}],
                        description="The document says which version it is, who signed it "
                        "and when, the room's reference, and who printed it when.",
                    )
                )
            },
            "/audit": {
                "get": _op(
                    "Access log I may review", params=[*audit_params, *_PAGING], listing=True
                )
            },
            "/audit/export.csv": {
                "get": _csv(
                    _op(
                        "The access log I may review, filtered as GET /audit, as CSV",
                        params=audit_params,
                        description="Streamed, newest first; for team managers and IG leads "
                        "(404 for anyone else). `room`: a room's id or reference; `person`: "
                        "part of a name, or an email address; `from`/`to`: UK dates, `to` "
                        "included; `visit`: a request id. Cells that a spreadsheet would run "
                        "as a formula are prefixed with '. Audited as an export.",
                    )
                )
            },
            "/audit/verify": {
                "get": _op(
                    "Verify the audit hash chain",
                    description="Recomputes the chain and compares it with the signed "
                    "checkpoints in the database and in the witness outside it. Answers "
                    "`ok`, `checked` (records verified), `first_bad` (id of the first bad "
                    "record, if one is to blame), `first_bad_seq`, `reason`, `problems` "
                    "(every finding: missing records, rewrites, bad signatures, a missing "
                    "witness or append-only trigger), `checkpoint_keys` (which keys signed "
                    "the checkpoints) and `witness_lines`.",
                )
            },
            "/notifications": {
                "get": _op(
                    "My newest notifications (content-free: a room reference, a name, a link)",
                    listing=True,
                )
            },
            "/notifications/read": {"post": _op("Mark all my notifications read")},
            "/oversight/rooms": {
                "get": _op(
                    "The rooms I oversee (team managers: rooms led by their teams; IG leads: "
                    "by their organisation), newest first, without their content",
                    params=[*_PAGING, _query("status", enum=["open", "closed"])],
                    listing=True,
                    description="Each item: `id`, `reference`, `status`, `plan_type`, "
                    '`child` `{"initials", "age"}` (never the name), `lead` (user), '
                    "`last_activity` (newest message, file or plan edit open to the whole "
                    'room), `next_deadline` `{"step", "due", "overdue", "text"}` or null, '
                    "`overdue_actions` (a count), `guests_ending` "
                    '`{"count", "first"}` (access ending within 7 days) and `may_open` '
                    "(the caller is in the room). Someone who oversees no rooms (not a "
                    "manager or IG lead) gets 404.",
                )
            },
            "/openapi.json": {"get": _op("This document", public=True)},
            "/agency-events": {
                "post": _op(
                    "A partner system's event about a child (integration accounts only; "
                    "others 403): matched to the child's open room by NHS number or UPN "
                    "(name and date of birth when neither is given), where it becomes an "
                    "item and the people who must act are told. The answer says only "
                    '`{"id", "known", "lead"?: {"name", "organisation", "contact"}}`. '
                    "The same `reference` again answers 200 with the same id; 429 when "
                    "rate-limited.",
                    body=AgencyEventIn,
                    ok=201,
                    also={200: "The reference was sent before: the same event"},
                )
            },
            "/concerns": {
                "post": _op(
                    "Raise a concern about a child (practitioners and managers): straight "
                    "into the child's room if you are in it, else to the local authority's "
                    'front door. 201 `{"reference", "went_to": "room"|"front_door", '
                    '"room_id", "contact_id"}`; photos follow with '
                    "`POST /concerns/{contact_id}/photos`.",
                    body=ConcernIn,
                    ok=201,
                )
            },
            "/rooms/{room_id}/chronology": {
                "get": _op(
                    "The child's chronology as I may see it, oldest first: what members "
                    "marked, agency events, plan versions and deadlines met or missed, the "
                    "core group, sharing decisions and break-glass. Each item: `id`, "
                    "`occurred_at`, `recorded_at`, `late` (recorded after the next working "
                    "day), `agency`, `author`, `type`, `summary`, `sensitivity`, `item_id`",
                    params=[room, *chronology_filters],
                    listing=True,
                ),
                "post": _op(
                    "Add an entry (members of an open room): an item of the room marked "
                    "significant (`item_id`: it keeps the item's sensitivity and agency; "
                    "409 `already_marked`), or an event of my own",
                    body=EntryIn, ok=201, params=[room],
                ),
            },
            "/rooms/{room_id}/chronology/pdf": {
                "get": _pdf(
                    _op("The chronology as I may see it (same filters) as a PDF; audited as "
                        "an export", params=[room, *chronology_filters])
                )
            },
            "/concerns/{contact_id}/recipients": {
                "get": _op(
                    "Whom the reporter seals a photo's key to (the concern's reporter only, "
                    "within an hour of sending it; others 404): whoever may read the "
                    "concern now, `items` and `waiting` as for a room's recipients",
                    params=[contact],
                )
            },
            "/concerns/{contact_id}/photos": {
                "post": _op(
                    "Add an end-to-end encrypted photo to the concern I raised, in the file "
                    "format bound to the contact's id (at most 10, within an hour of "
                    "sending it): 201 {id, upload}; 409 `recipients_changed` as for files, "
                    "`photos_closed` after the hour",
                    body=FileIn, ok=201, params=[contact],
                )
            },
            "/photos/{photo_id}": {
                "get": _op(
                    "A concern photo's metadata, manifest (bound to `scope_id`, the "
                    "contact), my own sealed key and `offer_to_wrap`",
                    params=[photo],
                )
            },
            "/photos/{photo_id}/content": {
                "get": _binary(
                    _op("The photo's ciphertext (audited as a view)", params=[photo])
                ),
                "put": {
                    **_op(
                        "Upload the photo's ciphertext (its reporter, once): 413 past "
                        "CASEROOM_MAX_FILE_BYTES, 422 when size or sha256 differ",
                        ok=204, params=[photo],
                    ),
                    "requestBody": {"required": True, "content": {
                        "application/octet-stream": {"schema": {"type": "string",
                                                                "format": "binary"}}}},
                },
            },
            "/photos/{photo_id}/keys": {
                "post": _op(
                    "Wrap the photo's key for people who may read it now (holders; the "
                    "triager for the lead of the room the concern went to)",
                    body=WrapIn, ok=201, params=[photo],
                )
            },
            "/photos/{photo_id}/tampered": {
                "post": _op("Report that a photo failed verification (audited)",
                            body=TamperedIn, ok=204, params=[photo])
            },
            "/front-door": {
                "get": _op(
                    "The front door's queue (its triagers only; others 404): waiting "
                    "contacts oldest first, each with how long it has waited against the "
                    "target, its rating and the open room it matches. `decided=1` adds "
                    "the decided ones.",
                    params=[_query("decided")],
                    listing=True,
                )
            },
            "/front-door/{contact_id}": {
                "get": _op("One contact at the front door", params=[_path("contact_id")])
            },
            "/front-door/{contact_id}/rating": {
                "post": _op(
                    "Rate a waiting contact red, amber or green",
                    body=RatingIn,
                    ok=204,
                    params=[_path("contact_id")],
                )
            },
            "/front-door/{contact_id}/decision": {
                "post": _op(
                    "Decide a waiting contact: open a room (the child's details filled in "
                    "unless `room` is given; 409 if the child has a room), attach it to "
                    "the open room it matches (the lead is told), or close it with a "
                    "`reason`. Moving it into a room is a recorded sharing decision.",
                    body=DecisionIn,
                    params=[_path("contact_id")],
                )
            },
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
