"""Every way in to case data goes through the choke point (issue #9, item 19), proven from
the route table rather than from a list someone must remember to extend: every API route,
page and socket event that takes the id of a room, a message or other case data answers an
outsider (Omar, in no room) 404 with exactly one denied audit event, and a member's read
writes an allowed one. A new route with an id is reached by these tests on its own; a new
kind of id, or a route left out, fails `test_every_route_with_an_id_is_covered`.

The reviewer's `GET /api/v1/rooms/{room_id}/peek`, which read the child through
`access.session` with no decision, is added below to a copy of the app and caught."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map, create_sync_message, create_update_message
from sqlalchemy import func
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from realtime.server import Realtime
from tests.aio import run_async
from tests.conftest import DAN, FAY, HOLLY, IRIS, MARK, OMAR, SARAH, LiveServer, Tokens
from tests.test_chat_sockets import connected, token_of
from tests.test_sign_in import csrf_of, sign_in, sign_in_fully
from workspace import fileformat
from workspace.access import Access
from workspace.app import create_app
from workspace.client import files
from workspace.client.http import Api
from workspace.models import AuditEvent, Child, Notice, Room
from workspace.state import Caseroom
from workspace.web import call

# Routes with an id that is not case data, each with why. Nothing else may be left out.
NOT_CASE_DATA = {
    # The caller's own API token: decided by ownership (tests/test_api_tokens.py).
    ("POST", "/account/tokens/{token_id}/revoke"): "the caller's own API token",
    # An outbox row (who and state, never content), for administrators (test_outbox.py).
    ("POST", "/admin/mail/{mail_id}/release"): "an email's delivery state",
    **{
        ("POST", f"/admin/users/{{user_id}}/{action}"): (
            "an account in the admin's organisation (rule 9), tested in tests/test_admin_users.py"
            " and tests/test_account_admin.py"
        )
        for action in (
            "disable", "enable", "reset-second-factor", "unlock", "send-password-link", "change"
        )
    },
    # Which organisation's provider a sign-in goes to: no case data, and nobody is signed
    # in yet; a started sign-in and every refusal are audited (tests/test_sso.py).
    ("GET", "/login/sso/{organisation_id}"): "an organisation's sign-in provider",
    # Signed, purpose-bound links, not ids: a bad one is its own audited refusal
    # (tests/test_invitations.py, tests/test_email_preferences.py).
    ("GET", "/invite/{token}"): "a signed invitation link",
    ("POST", "/invite/{token}"): "a signed invitation link",
    ("GET", "/unsubscribe/{token}"): "a signed unsubscribe link",
    ("POST", "/unsubscribe/{token}"): "a signed unsubscribe link",
    # A one-time link to set one's password: unknown, used, replaced or expired links are
    # each an audited refusal (tests/test_account_admin.py).
    ("GET", "/password/{token}"): "a one-time set-password link",
    ("POST", "/password/{token}"): "a one-time set-password link",
}
# Socket events that take a room id but read nothing: `leave` drops the socket's own
# subscription; `typing` goes only to rooms the socket joined (decided and audited at join)
# and is not audited by design (README: it carries no case data and would flood the log).
SOCKET_NOT_CASE_DATA = {"connect", "disconnect", "leave", "typing"}

REASONS = {"purpose": "Core group", "lawful_basis": "public_task", "consent": "given"}
B64_SIGNATURE = base64.b64encode(bytes(fileformat.SIGNATURE_BYTES)).decode()
B64_SEALED_KEY = base64.b64encode(bytes(fileformat.SEALED_KEY_BYTES)).decode()


@dataclass
class World:
    """Real ids from the demo, and who asks."""

    app: Caseroom
    ids: dict[str, str]
    auth: Tokens
    api: TestClient
    pages: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)  # each page client's session token

    def path(self, template: str) -> str:
        return template.format(**self.ids)


# --- the route table ------------------------------------------------------------------------


def http_routes(app: Starlette) -> list[tuple[str, str]]:
    """(method, full path) of every route of the app, mounts walked."""
    found: list[tuple[str, str]] = []

    def walk(routes: Sequence[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    found.append((method, prefix + route.path))

    walk(app.routes, "")
    return found


def params(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)(?::\w+)?}", path))


def id_routes(app: Starlette) -> list[tuple[str, str]]:
    return [(m, p) for m, p in http_routes(app) if params(p) and (m, p) not in NOT_CASE_DATA]


def socket_events(app: Caseroom) -> set[str]:
    """The events whose handlers realtime/server.py registers, less the exceptions."""
    return set(Realtime(app).sio.handlers["/"]) - SOCKET_NOT_CASE_DATA


# --- what each write needs to get past validation to the decision ---------------------------


def api_body(world: World, method: str, path: str) -> Any:
    ids = world.ids
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/rooms/{room_id}/members"):
            {"email": HOLLY, "role": "member", **REASONS},
        ("PATCH", "/api/v1/rooms/{room_id}/members/{user_id}"): {"role": "guest", **REASONS},
        ("POST", "/api/v1/rooms/{room_id}/lead"): {"user_id": ids["user_id"]},
        ("POST", "/api/v1/rooms/{room_id}/shares"):
            {"item_type": "message", "item_id": ids["message_id"], "user_id": ids["user_id"],
             **REASONS},
        ("POST", "/api/v1/rooms/{room_id}/sharing-decisions"):
            {"decision": "not_share", "what": "The school report", **REASONS},
        ("POST", "/api/v1/rooms/{room_id}/messages"): {"body": "Seen today.", "kind": "note"},
        ("PATCH", "/api/v1/messages/{message_id}"): {"body": "Seen today (corrected)."},
        # Well-formed files requests (what is inside is checked only after the decision).
        ("POST", "/api/v1/rooms/{room_id}/files"):
            {"id": str(uuid.uuid4()), "sensitivity": "room", "size": 64, "sha256": "0" * 64,
             "manifest": "{}", "signature": B64_SIGNATURE, "encrypted_name": "AAAA",
             "keys": []},
        ("POST", "/api/v1/files/{file_id}/keys"):
            {"keys": [{"user_id": ids["user_id"], "sealed_key": B64_SEALED_KEY}]},
        ("POST", "/api/v1/files/{file_id}/tampered"): {"reason": "chunk 2 failed"},
        ("PATCH", "/api/v1/rooms/{room_id}/plan"): {"concerns": "Neglect"},
        ("POST", "/api/v1/rooms/{room_id}/plan/outcomes"): {"text": "Jamie is safe"},
        ("POST", "/api/v1/rooms/{room_id}/plan/outcomes/{outcome_id}/actions"):
            {"text": "Check attendance daily"},
        ("PATCH", "/api/v1/rooms/{room_id}/plan/actions/{action_id}"): {"status": "done"},
        ("POST", "/api/v1/audit/flags/{flag_id}/review"): {"note": "Looked into it"},
        ("POST", "/api/v1/front-door/{contact_id}/rating"): {"rag": "amber"},
        ("POST", "/api/v1/front-door/{contact_id}/decision"):
            {"decision": "close", "reason": "no_further_action"},
        ("POST", "/api/v1/rooms/{room_id}/chronology"):
            {"occurred_at": "2026-11-25T09:00:00Z", "type": "fact", "summary": "Seen at home"},
        ("POST", "/api/v1/concerns/{contact_id}/photos"):
            {"id": str(uuid.uuid4()), "sensitivity": "room", "size": 64, "sha256": "0" * 64,
             "manifest": "{}", "signature": B64_SIGNATURE, "encrypted_name": "AAAA",
             "keys": []},
        ("POST", "/api/v1/photos/{photo_id}/keys"):
            {"keys": [{"user_id": ids["user_id"], "sealed_key": B64_SEALED_KEY}]},
        ("POST", "/api/v1/photos/{photo_id}/tampered"): {"reason": "chunk 2 failed"},
    }  # fmt: skip
    return bodies.get((method, path))


def page_form(world: World, path: str) -> dict[str, str]:
    ids = world.ids
    forms: dict[str, dict[str, str]] = {
        "/rooms/{room_id}/messages": {"body": "Seen today.", "kind": "note",
                                      "sensitivity": "room"},
        "/rooms/{room_id}/members": {"email": HOLLY, "role": "member", **REASONS},
        "/rooms/{room_id}/invitations": {"email": HOLLY, "role": "member", **REASONS},
        "/rooms/{room_id}/members/{user_id}/change": {"role": "guest", **REASONS},
        "/rooms/{room_id}/lead": {"user_id": ids["user_id"]},
        "/rooms/{room_id}/sharing-decisions": {"decision": "not_share",
                                               "what": "The school report", **REASONS},
        "/rooms/{room_id}/shares": {"item_type": "message", "item_id": ids["message_id"],
                                    "user_id": ids["user_id"], **REASONS},
        "/audit/flags/{flag_id}/review": {"note": "Looked into it"},
        "/rooms/{room_id}/chronology": {"occurred_at": "2026-11-25T09:00", "type": "fact",
                                        "summary": "Seen at home"},
        "/front-door/{contact_id}/rating": {"rag": "amber"},
        "/front-door/{contact_id}/decision": {"decision": "close", "reason": "no_further_action"},
    }  # fmt: skip
    return forms.get(path, {})


def _an_update() -> bytes:
    doc: Doc[Any] = Doc()
    doc["plan"] = Map({"concerns": "Neglect"})
    return doc.get_update()


PLAN_UPDATE = _an_update()
SOCKET_PAYLOADS: dict[str, Any] = {
    "join": lambda ids: {"room_id": ids["room_id"]},
    "sync": lambda ids: {"room_id": ids["room_id"]},
    "message": lambda ids: {"room_id": ids["room_id"], "body": "Seen today.", "kind": "note",
                            "sensitivity": "room"},
    "edit": lambda ids: {"message_id": ids["message_id"], "body": "Seen today (corrected)."},
    "retract": lambda ids: {"message_id": ids["message_id"]},
    "read": lambda ids: {"message_id": ids["message_id"]},
    "plan:join": lambda ids: {"room_id": ids["room_id"]},
    "plan:sync": lambda ids: {"room_id": ids["room_id"], "message": create_sync_message(Doc())},
    "plan:update": lambda ids: {"room_id": ids["room_id"], "message": create_update_message(
        PLAN_UPDATE)},
    "plan:awareness": lambda ids: {"room_id": ids["room_id"], "message": b"\x01\x00"},
}  # fmt: skip


# --- asking, and counting the audit log -----------------------------------------------------


def audit_counts(app: Caseroom) -> dict[str, int]:
    with app.db.session() as session:
        rows = session.exec(
            select(AuditEvent.outcome, func.count()).group_by(col(AuditEvent.outcome))
        ).all()
    return {outcome: int(n) for outcome, n in rows}


def delta(app: Caseroom, before: dict[str, int]) -> dict[str, int]:
    after = audit_counts(app)
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("allowed", "denied")}


# Query strings a read needs to do its work (a search needs words).
QUERIES = {"/api/v1/rooms/{room_id}/search": "?q=school", "/rooms/{room_id}/search": "?q=school"}


def send(world: World, who: str, method: str, path: str) -> Response:
    url = world.path(path) + QUERIES.get(path, "")
    if path.startswith("/api/"):
        body = api_body(world, method, path)
        return world.api.request(method, url, json=body, headers=world.auth(who))
    client = world.pages[who]
    data = None
    if method != "GET":
        data = {**page_form(world, path), "csrf_token": world.csrf[who]}
    return client.request(method, url, data=data, follow_redirects=False)


def outsider_failure(world: World, method: str, path: str) -> str | None:
    """Why this route fails the outsider rule, or None."""
    before = audit_counts(world.app)
    response = send(world, OMAR, method, path)
    counted = delta(world.app, before)
    if response.status_code != 404 or counted != {"allowed": 0, "denied": 1}:
        return f"{method} {path}: {response.status_code}, audit {counted}"
    return None


# Who reads each kind of thing as of right: a room's lead, the front door its contacts and
# their photos, and a concern's reporter whom to seal its photos to.
def reader_of(path: str) -> str:
    if path.startswith("/api/v1/concerns/"):
        return DAN
    if path.endswith("/subject-access"):
        return IRIS  # the IG lead of the organisation that leads the room
    return FAY if "{contact_id}" in path or "{photo_id}" in path else SARAH


def member_read_failure(world: World, method: str, path: str) -> str | None:
    before = audit_counts(world.app)
    response = send(world, reader_of(path), method, path)
    counted = delta(world.app, before)
    if response.status_code >= 400 or counted["allowed"] < 1 or counted["denied"]:
        return f"{method} {path}: {response.status_code}, audit {counted}"
    return None


# --- fixtures -------------------------------------------------------------------------------


def a_file(server: LiveServer, auth: Tokens, room_id: str, outside: Path) -> str:
    """A real end-to-end encrypted file of the room, put by Sarah with the Python client
    (Dan, the `user_id` of the world, has published keys too: his are readable)."""
    dan = Api(server.url, token_of(auth(DAN)))
    files.keys_init(dan, outside / "dan.key", "correct horse battery staple")
    api = Api(server.url, token_of(auth(SARAH)))
    key = files.keys_init(api, outside / "sarah.key", "correct horse battery staple")
    report = outside / "report.txt"
    report.write_bytes(b"School attendance, autumn term")
    return files.put(api, room_id, report, key)


@pytest.fixture
def world(
    app: Caseroom,
    client: TestClient,
    auth: Tokens,
    password: str,
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    items = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH)).json()["items"]
    invited = client.post(
        f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
        json={"email": "someone.new@youthclub.example", "role": "member", **REASONS,
              "organisation_name": "Oakfield Youth Club", "organisation_kind": "voluntary"},
    )  # fmt: skip
    assert invited.status_code == 202, invited.text
    sarah_id = client.get("/api/v1/me", headers=auth(SARAH)).json()["id"]
    published = client.post(f"/api/v1/rooms/{room_id}/plan/versions", headers=auth(SARAH))
    assert published.status_code == 201, published.text
    with app.db.session() as session:
        notice = Notice(user_id=sarah_id, kind="added", room_id=room_id, text="A notice",
                        link=f"/rooms/{room_id}", created_at=app.clock.now())  # fmt: skip
        session.add(notice)
        session.commit()
        notice_id = notice.id
    outcome = client.post(f"/api/v1/rooms/{room_id}/plan/outcomes", headers=auth(SARAH),
                          json={"text": "Jamie is safe"}).json()  # fmt: skip
    action = client.post(
        f"/api/v1/rooms/{room_id}/plan/outcomes/{outcome['id']}/actions", headers=auth(SARAH),
        json={"text": "Check attendance daily"},
    ).json()  # fmt: skip
    version = client.post(f"/api/v1/rooms/{room_id}/plan/versions", headers=auth(SARAH)).json()
    # An access flag: Omar's refused look at Jamie's room, as Sarah's manager sees it.
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    flags = client.get("/api/v1/audit/flags", headers=auth(MARK)).json()["items"]
    # A concern about a child with no room: it waits at the front door (Fay's).
    concern = client.post(
        "/api/v1/concerns", headers=auth(DAN),
        json={"child": {"name": "Riley Stone"}, "what_happened": "Arrived hungry again."},
    )  # fmt: skip
    contact = next(
        c for c in client.get("/api/v1/front-door", headers=auth(FAY)).json()["items"]
        if c["child"]["name"] == "Riley Stone"
    )  # fmt: skip
    assert contact["reference"] == concern.json()["reference"]
    # Dan's photo on it, sealed to the front door (Fay has keys) and Dan himself.
    outside = tmp_path_factory.mktemp("outside")
    fay = Api(live_server.url, token_of(auth(FAY)))
    files.keys_init(fay, outside / "fay.key", "correct horse battery staple")
    file_id = a_file(live_server, auth, room_id, outside)
    dan = Api(live_server.url, token_of(auth(DAN)))
    photo = outside / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    photo_id = files.put_photo(
        dan, contact["id"], photo, files.KeyFile.read(outside / "dan.key")
    )
    ids = {
        "room_id": room_id,
        "outcome_id": outcome["id"],
        "action_id": action["id"],
        "version": str(version["version"]),
        "message_id": next(m["id"] for m in items if m["author"]["email"] == SARAH),
        "user_id": client.get("/api/v1/me", headers=auth(DAN)).json()["id"],
        "invitation_id": invited.json()["id"],
        "notice_id": notice_id,
        "file_id": file_id,
        "n": str(published.json()["version"]),  # a published version of the plan
        "flag_id": next(f["id"] for f in flags if f["kind"] == "denied"),
        "contact_id": contact["id"],
        "photo_id": photo_id,
    }
    for email in (OMAR, SARAH, FAY, DAN):
        auth(email)  # tokens made before anything is counted
    with (
        TestClient(create_app(caseroom=app)) as omar,
        TestClient(create_app(caseroom=app)) as sarah,
        TestClient(create_app(caseroom=app)) as fay,
        TestClient(create_app(caseroom=app)) as iris,
    ):
        sign_in(omar, OMAR, password)
        sign_in(sarah, SARAH, password)
        sign_in(fay, FAY, password)
        sign_in_fully(iris, app, IRIS, password)
        pages = {OMAR: omar, SARAH: sarah, FAY: fay, IRIS: iris}
        yield World(app, ids, auth, client, pages,
                    {who: csrf_of(page) for who, page in pages.items()})  # fmt: skip


# --- the tests ------------------------------------------------------------------------------


def test_every_route_with_an_id_is_covered(world: World) -> None:
    """The tests below walk the route table, so a new route is reached without being
    listed; what they cannot do is invent an id of a new kind, or know that a listed
    exception still exists. (The API's routes equal the OpenAPI document's paths:
    tests/test_openapi.py.)"""
    app = create_app(caseroom=world.app)
    unknown = {f"{m} {p}": params(p) - set(world.ids) for m, p in id_routes(app)}
    assert {k: v for k, v in unknown.items() if v} == {}, "add a real id of that kind to World"
    assert set(NOT_CASE_DATA) <= set(http_routes(app)), "an exception names no route"
    assert socket_events(world.app) == set(SOCKET_PAYLOADS), "add the new event's payload"


def test_an_outsider_gets_404_and_one_denied_event_on_every_route_with_an_id(
    world: World,
) -> None:
    routes = id_routes(create_app(caseroom=world.app))
    assert len(routes) > 30  # the API and the pages, not an empty table
    failures = [f for m, p in routes if (f := outsider_failure(world, m, p))]
    assert failures == [], "\n".join(failures)


def test_a_members_read_writes_an_allowed_event_on_every_route_with_an_id(world: World) -> None:
    reads = [(m, p) for m, p in id_routes(create_app(caseroom=world.app)) if m == "GET"]
    assert len(reads) > 10
    failures = [f for m, p in reads if (f := member_read_failure(world, m, p))]
    assert failures == [], "\n".join(failures)


def test_every_socket_event_with_an_id_is_decided_and_audited(
    world: World, live_server: LiveServer
) -> None:
    events = socket_events(world.app)
    assert events == set(SOCKET_PAYLOADS), "add the new event's payload"
    outsider, member = token_of(world.auth(OMAR)), token_of(world.auth(SARAH))

    async def scenario() -> list[str]:
        failures = []
        async with connected(live_server, outsider) as omar, connected(
            live_server, member
        ) as sarah:
            for event in sorted(events):
                payload = SOCKET_PAYLOADS[event](world.ids)
                before = audit_counts(world.app)
                answer = await omar.client.call(event, payload, timeout=10)
                counted = delta(world.app, before)
                code = (answer or {}).get("error", {}).get("code")
                if code != "not_found" or counted != {"allowed": 0, "denied": 1}:
                    failures.append(f"outsider {event}: {answer}, audit {counted}")
            # The reads. (A plan's sync on a socket joined to the plan is part of the view
            # its plan:join recorded: asked first here, it is a view of its own.)
            for event in ("join", "sync", "plan:sync", "plan:join"):
                before = audit_counts(world.app)
                answer = await sarah.client.call(event, SOCKET_PAYLOADS[event](world.ids))
                counted = delta(world.app, before)
                if "error" in answer or counted["allowed"] < 1 or counted["denied"]:
                    failures.append(f"member {event}: {answer}, audit {counted}")
        return failures

    assert run_async(scenario()) == []


# --- the reviewer's route -------------------------------------------------------------------


async def peek(request: Request) -> Response:
    """What the reviewer added: the child read straight from the session, no decision."""

    def read(access: Access) -> str | None:
        access.require_user()
        room = access.session.get(Room, request.path_params["room_id"])
        child = access.session.get(Child, room.child_id) if room else None
        return child.nhs_number if child else None

    return JSONResponse({"nhs_number": await call(request, read, channel="api")})


def test_a_route_that_bypasses_the_choke_point_is_caught(world: World) -> None:
    leaky = create_app(caseroom=world.app)
    [api] = [r for r in leaky.routes if isinstance(r, Mount) and r.path == "/api/v1"]
    api.routes.append(Route("/rooms/{room_id}/peek", peek, methods=["GET"]))
    # The route table brings it in without anyone listing it ...
    assert ("GET", "/api/v1/rooms/{room_id}/peek") in id_routes(leaky)
    # ... and the outsider rule fails on it (Omar is shown the NHS number, nothing denied).
    with TestClient(leaky) as client:
        failure = outsider_failure(
            World(world.app, world.ids, world.auth, client), "GET", "/api/v1/rooms/{room_id}/peek"
        )
    assert failure is not None and "200" in failure
