"""Bad input gets a clear error and loses nothing: every refusal of the write endpoints
answers `{"error": {"code", "message", ...}}` with the right status — never a 500 or a
stack trace — and leaves the child, room, membership and message tables as they were."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient
from starlette.types import Message as AsgiMessage

from tests.aio import run_in_thread
from tests.conftest import DAN, HANA, OMAR, PETE, REMOVAL, SARAH, Tokens
from workspace.app import create_app
from workspace.clock import clock
from workspace.models import Child, Membership, Message, MessageEdit, Room, SharingDecision
from workspace.services import messages as message_service
from workspace.state import Caseroom

CASE_TABLES: tuple[type[SQLModel], ...] = (
    Child,
    Room,
    Membership,
    Message,
    MessageEdit,
    SharingDecision,
)
LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}


# --- helpers ---------------------------------------------------------------------------


def row_counts(app: Caseroom) -> dict[str, int]:
    with app.db.session() as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in CASE_TABLES
        }


def message_bodies(app: Caseroom) -> dict[str, str]:
    with app.db.session() as session:
        return {m.id: m.body for m in session.exec(select(Message)).all()}


def assert_error(
    response: Any, status: int, *, code: str | None = None, field_name: str | None = None
) -> dict[str, Any]:
    """The one error shape of DESIGN.md §6, and nothing that looks like a crash."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    payload = response.json()
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    error = payload["error"]
    assert isinstance(error, dict)
    assert isinstance(error.get("code"), str) and error["code"]
    assert isinstance(error.get("message"), str) and error["message"]
    assert set(error) <= {"code", "message", "fields"}, error
    if code is not None:
        assert error["code"] == code, error
    if field_name is not None:
        assert field_name in error.get("fields", {}), error
    return dict(error)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # may hold {room_id} and {message_id}
    valid: dict[str, Any]
    ok: int
    caller: str = SARAH


ENDPOINTS = {
    "create_room": Endpoint(
        "create_room",
        "POST",
        "/api/v1/rooms",
        {
            "title": "Sam Test – early help",
            "plan_type": "early_help",
            "child": {"name": "Sam Test", "date_of_birth": "2018-05-01"},
        },
        201,
    ),
    "add_member": Endpoint(
        "add_member",
        "POST",
        "/api/v1/rooms/{room_id}/members",
        {
            "email": OMAR,
            "role": "member",
            "purpose": "Core group: council duty team",
            "lawful_basis": "public_task",
            "consent": "given",
        },
        201,
    ),
    "post_message": Endpoint(
        "post_message",
        "POST",
        "/api/v1/rooms/{room_id}/messages",
        {"body": "Jamie was in school all week.", "kind": "fact", "sensitivity": "room"},
        201,
    ),
    "edit_message": Endpoint(
        "edit_message",
        "PATCH",
        "/api/v1/messages/{message_id}",
        {"body": "Initial child protection conference held (corrected)."},
        200,
    ),
}


@dataclass
class Api:
    """Sends requests to the endpoints above as their caller, and checks that a refused
    request changed nothing."""

    client: TestClient
    auth: Tokens
    app: Caseroom
    room_id: str
    message_id: str
    baseline: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)

    def url(self, endpoint: Endpoint) -> str:
        return endpoint.path.format(room_id=self.room_id, message_id=self.message_id)

    def send(
        self,
        endpoint: Endpoint,
        *,
        body: Any = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        caller: str | None = None,
    ) -> Any:
        if content is None:
            content = json.dumps(body).encode()
            headers = {**JSON, **(headers or {})}
        return self.client.request(
            endpoint.method,
            self.url(endpoint),
            content=content,
            headers={**self.auth(caller or endpoint.caller), **(headers or {})},
        )

    def snapshot(self) -> None:
        self.baseline = row_counts(self.app)
        self.bodies = message_bodies(self.app)

    def assert_nothing_written(self) -> None:
        assert row_counts(self.app) == self.baseline
        assert message_bodies(self.app) == self.bodies


@pytest.fixture
def api(client: TestClient, auth: Tokens, app: Caseroom) -> Api:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    items = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH)).json()["items"]
    message_id = next(m["id"] for m in items if m["author"]["email"] == SARAH)
    for email in (SARAH, PETE, OMAR):
        auth(email)  # make the tokens before counting anything
    api = Api(client, auth, app, room_id, message_id)
    api.snapshot()
    return api


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with top-level changes (a value of REMOVE drops the key)."""
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not REMOVE}


def with_child(**changes: Any) -> dict[str, Any]:
    base = ENDPOINTS["create_room"].valid
    return with_(base, child=with_(base["child"], **changes))


REMOVE = object()


# --- the valid request works (so every refusal below is about its one defect) -----------


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_valid_request_succeeds(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    response = api.send(endpoint, body=endpoint.valid)
    assert response.status_code == endpoint.ok, response.text


# --- malformed bodies, for every write endpoint -----------------------------------------

GENERIC_CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed JSON", b'{"body": "unterminated', JSON, 400, "malformed_json"),
    ("trailing garbage", b'{"body": "x"} and more', JSON, 400, "malformed_json"),
    ("empty body", b"", JSON, 400, "malformed_json"),
    ("not UTF-8", b'{"body": "caf\xe9"}', JSON, 400, "malformed_json"),
    ("nested too deep", b"[" * 30000 + b"]" * 30000, JSON, 400, "malformed_json"),
    ("lone surrogate key", b'{"\\ud800": "x"}', JSON, 400, "malformed_json"),
    (
        "form content type",
        b"body=hello&kind=fact",
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
        "bad_content_type",
    ),
    (
        "text/plain JSON",
        b'{"body": "hello"}',
        {"Content-Type": "text/plain"},
        400,
        "bad_content_type",
    ),
    ("no content type", b'{"body": "hello"}', {}, 400, "bad_content_type"),
    ("JSON array", b"[]", JSON, 422, "invalid"),
    ("JSON array of an object", b'[{"body": "hello"}]', JSON, 422, "invalid"),
    ("JSON number", b"42", JSON, 422, "invalid"),
    ("JSON string", b'"hello"', JSON, 422, "invalid"),
    ("JSON null", b"null", JSON, 422, "invalid"),
    ("JSON true", b"true", JSON, 422, "invalid"),
    ("JSON NaN", b"NaN", JSON, 422, "invalid"),
    ("empty object", b"{}", JSON, 422, "invalid"),
]


@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("case", "content", "headers", "status", "code"),
    GENERIC_CASES,
    ids=[c[0] for c in GENERIC_CASES],
)
def test_a_body_that_is_not_a_json_object_is_refused_and_nothing_is_written(
    api: Api, name: str, case: str, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = api.send(ENDPOINTS[name], content=content, headers=headers)
    assert_error(response, status, code=code)
    api.assert_nothing_written()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_an_unknown_field_is_refused_by_name(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    response = api.send(endpoint, body=with_(endpoint.valid, is_admin=True))
    error = assert_error(response, 422, code="invalid", field_name="is_admin")
    assert "is_admin" in error["message"]
    api.assert_nothing_written()


# --- wrong types, bad identifiers, bad dates, over-long text: 422 naming the field --------

FUTURE = (clock.now().date() + timedelta(days=30)).isoformat()
MEMBER = ENDPOINTS["add_member"].valid
MESSAGE = ENDPOINTS["post_message"].valid
EDIT = ENDPOINTS["edit_message"].valid

FIELD_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # opening a room
    ("title is a number", "create_room", with_(ENDPOINTS["create_room"].valid, title=5), "title"),
    (
        "title over 200",
        "create_room",
        with_(ENDPOINTS["create_room"].valid, title="t" * 201),
        "title",
    ),
    (
        "plan type is a bool",
        "create_room",
        with_(ENDPOINTS["create_room"].valid, plan_type=True),
        "plan_type",
    ),
    (
        "plan type unknown",
        "create_room",
        with_(ENDPOINTS["create_room"].valid, plan_type="adoption"),
        "plan_type",
    ),
    (
        "child is a string",
        "create_room",
        with_(ENDPOINTS["create_room"].valid, child="Sam"),
        "child",
    ),
    ("child missing", "create_room", with_(ENDPOINTS["create_room"].valid, child=REMOVE), "child"),
    ("child name is a number", "create_room", with_child(name=42), "child.name"),
    ("child name over 200", "create_room", with_child(name="n" * 201), "child.name"),
    ("child name blank", "create_room", with_child(name="   "), "child.name"),
    (
        "date of birth is a number",
        "create_room",
        with_child(date_of_birth=20180501),
        "child.date_of_birth",
    ),
    (
        "date of birth day first",
        "create_room",
        with_child(date_of_birth="01/05/2018"),
        "child.date_of_birth",
    ),
    (
        "date of birth impossible",
        "create_room",
        with_child(date_of_birth="2018-02-30"),
        "child.date_of_birth",
    ),
    (
        "date of birth words",
        "create_room",
        with_child(date_of_birth="last May"),
        "child.date_of_birth",
    ),
    (
        "date of birth in the future",
        "create_room",
        with_child(date_of_birth=FUTURE),
        "child.date_of_birth",
    ),
    (
        "date of birth too long ago",
        "create_room",
        with_child(date_of_birth="1950-01-01"),
        "child.date_of_birth",
    ),
    (
        "NHS number check digit wrong",
        "create_room",
        with_child(nhs_number="9434765918"),
        "child.nhs_number",
    ),
    (
        "NHS number check digit 10",
        "create_room",
        with_child(nhs_number="1000000010"),
        "child.nhs_number",
    ),
    ("NHS number too short", "create_room", with_child(nhs_number="943476591"), "child.nhs_number"),
    ("NHS number letters", "create_room", with_child(nhs_number="94347659AB"), "child.nhs_number"),
    (
        "NHS number is a number",
        "create_room",
        with_child(nhs_number=9434765919),
        "child.nhs_number",
    ),
    ("UPN check letter wrong", "create_room", with_child(upn="B950000178301"), "child.upn"),
    ("UPN too short", "create_room", with_child(upn="A95000017830"), "child.upn"),
    ("UPN is a number", "create_room", with_child(upn=950000178301), "child.upn"),
    ("address over 500", "create_room", with_child(address="a" * 501), "child.address"),
    ("unknown child field", "create_room", with_child(ethnicity="x"), "child.ethnicity"),
    ("NUL in the child's name", "create_room", with_child(name="Sam\x00Test"), "child.name"),
    # adding a member
    ("email is a number", "add_member", with_(MEMBER, email=5), "email"),
    ("email not an address", "add_member", with_(MEMBER, email="omar at council"), "email"),
    ("email missing", "add_member", with_(MEMBER, email=REMOVE), "email"),
    ("role is a bool", "add_member", with_(MEMBER, role=True), "role"),
    ("role lead", "add_member", with_(MEMBER, role="lead"), "role"),
    ("purpose is a number", "add_member", with_(MEMBER, purpose=7), "purpose"),
    ("purpose missing", "add_member", with_(MEMBER, purpose=REMOVE), "purpose"),
    ("purpose over 1000", "add_member", with_(MEMBER, purpose="p" * 1001), "purpose"),
    ("lawful basis unknown", "add_member", with_(MEMBER, lawful_basis="because"), "lawful_basis"),
    ("consent is a bool", "add_member", with_(MEMBER, consent=False), "consent"),
    ("consent reason is a number", "add_member", with_(MEMBER, consent_reason=3), "consent_reason"),
    (
        "expires_at words",
        "add_member",
        with_(MEMBER, role="guest", expires_at="next week"),
        "expires_at",
    ),
    (
        "expires_at is a list",
        "add_member",
        with_(MEMBER, role="guest", expires_at=[2030]),
        "expires_at",
    ),
    ("NUL in the purpose", "add_member", with_(MEMBER, purpose="core\x00group"), "purpose"),
    # posting a message
    ("body is a number", "post_message", with_(MESSAGE, body=5), "body"),
    ("body is null", "post_message", with_(MESSAGE, body=None), "body"),
    ("body missing", "post_message", with_(MESSAGE, body=REMOVE), "body"),
    ("body blank", "post_message", with_(MESSAGE, body="   \n "), "body"),
    ("body over 10000", "post_message", with_(MESSAGE, body="b" * 10001), "body"),
    ("kind is a bool", "post_message", with_(MESSAGE, kind=True), "kind"),
    ("kind unknown", "post_message", with_(MESSAGE, kind="gossip"), "kind"),
    ("sensitivity is a number", "post_message", with_(MESSAGE, sensitivity=1), "sensitivity"),
    ("sensitivity unknown", "post_message", with_(MESSAGE, sensitivity="secret"), "sensitivity"),
    ("thread_id is a number", "post_message", with_(MESSAGE, thread_id=5), "thread_id"),
    ("client_id over 64", "post_message", with_(MESSAGE, client_id="c" * 65), "client_id"),
    ("NUL in the body", "post_message", with_(MESSAGE, body="before\x00after"), "body"),
    # editing a message
    ("edit body is a number", "edit_message", with_(EDIT, body=5), "body"),
    ("edit body empty", "edit_message", with_(EDIT, body=""), "body"),
    ("edit body over 10000", "edit_message", with_(EDIT, body="e" * 10001), "body"),
    ("edit changes kind", "edit_message", with_(EDIT, kind="decision"), "kind"),
    ("NUL in the edit", "edit_message", with_(EDIT, body="x\x00"), "body"),
]


@pytest.mark.parametrize(
    ("case", "name", "body", "field_name"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES]
)
def test_invalid_input_is_refused_with_422_naming_the_field(
    api: Api, case: str, name: str, body: dict[str, Any], field_name: str
) -> None:
    response = api.send(ENDPOINTS[name], body=body)
    error = assert_error(response, 422, code="invalid", field_name=field_name)
    assert field_name in error["message"]
    api.assert_nothing_written()


LONE_SURROGATE_CASES = [
    ("create_room", b'{"child": {"name": "Sam \\udc00", "date_of_birth": "2018-05-01"}}'),
    ("add_member", json.dumps(with_(MEMBER, purpose="P")).encode().replace(b'"P"', b'"\\ud83d"')),
    ("post_message", b'{"body": "half an emoji \\ud83d"}'),
    ("edit_message", b'{"body": "\\udfff"}'),
]


@pytest.mark.parametrize(("name", "content"), LONE_SURROGATE_CASES)
def test_text_that_is_not_valid_unicode_is_refused(api: Api, name: str, content: bytes) -> None:
    response = api.send(ENDPOINTS[name], content=content, headers=JSON)
    assert_error(response, 400, code="malformed_json")
    api.assert_nothing_written()


def test_a_real_emoji_written_as_a_surrogate_pair_is_accepted(api: Api) -> None:
    response = api.send(
        ENDPOINTS["post_message"], content=b'{"body": "seen \\ud83d\\ude00"}', headers=JSON
    )
    assert response.status_code == 201, response.text
    assert response.json()["body"] == "seen \U0001f600"


# --- rules the services check: still 422 with the field, still nothing written ----------

SERVICE_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown email", "add_member", with_(MEMBER, email="nobody@nowhere.example"), "email"),
    (
        "consent not sought without a reason",
        "add_member",
        with_(MEMBER, consent="not_sought"),
        "consent_reason",
    ),
    (
        "guest access that has already ended",
        "add_member",
        with_(MEMBER, role="guest", expires_at="2020-01-01T00:00:00Z"),
        "expires_at",
    ),
    (
        "guest access for a year",
        "add_member",
        with_(MEMBER, role="guest", expires_at=f"{clock.now().year + 1}-12-31T00:00:00Z"),
        "expires_at",
    ),
    (
        "reply to a message that does not exist",
        "post_message",
        with_(MESSAGE, thread_id="00000000-0000-4000-8000-000000000000"),
        "thread_id",
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "body", "field_name"), SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES]
)
def test_a_request_the_service_refuses_writes_nothing(
    api: Api, case: str, name: str, body: dict[str, Any], field_name: str
) -> None:
    response = api.send(ENDPOINTS[name], body=body)
    assert_error(response, 422, code="invalid", field_name=field_name)
    api.assert_nothing_written()


# --- size limits: 413 from Content-Length and while streaming ----------------------------


def oversized_body(name: str) -> bytes:
    big = "x" * (LIMIT + 1)
    body = dict(ENDPOINTS[name].valid)
    if name == "create_room":
        body["title"] = big
    elif name == "add_member":
        body["purpose"] = big
    else:
        body["body"] = big
    return json.dumps(body).encode()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_a_body_over_the_limit_is_refused_with_413_from_content_length(api: Api, name: str) -> None:
    assert api.app.settings.max_body_bytes == LIMIT
    content = oversized_body(name)
    response = api.send(ENDPOINTS[name], content=content, headers=JSON)
    assert_error(response, 413, code="too_large")
    api.assert_nothing_written()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_a_streamed_body_over_the_limit_is_refused_with_413(api: Api, name: str) -> None:
    content = oversized_body(name)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 4096):
            yield content[start : start + 4096]

    response = api.send(ENDPOINTS[name], content=chunks(), headers=JSON)
    assert_error(response, 413, code="too_large")
    api.assert_nothing_written()


def test_a_streamed_body_is_cut_off_soon_after_the_limit_not_read_whole(api: Api) -> None:
    """Driven through ASGI directly, so the body really arrives in 1 KiB chunks with no
    Content-Length: the app must stop reading shortly after 64 KiB, not buffer 1 MiB."""
    asgi = create_app(caseroom=api.app)
    chunk, total = b"x" * 1024, 1024
    pulled = 0
    sent: list[AsgiMessage] = []
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    headers += [(k.lower().encode(), v.encode()) for k, v in api.auth(SARAH).items()]

    async def receive() -> AsgiMessage:
        nonlocal pulled
        pulled += 1
        if pulled > total:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": pulled < total}

    async def send(message: AsgiMessage) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/rooms/{api.room_id}/messages",
        "raw_path": f"/api/v1/rooms/{api.room_id}/messages".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    # On a thread of its own: Playwright may hold an event loop in this one (tests/aio.py).
    run_in_thread(anyio.run, asgi, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert pulled <= LIMIT // len(chunk) + 2
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["error"]["code"] == "too_large"
    api.assert_nothing_written()


def test_a_body_just_under_the_limit_is_read_and_judged_on_its_content(api: Api) -> None:
    body = json.dumps({"body": "y" * (LIMIT - 100)}).encode()
    assert len(body) <= LIMIT
    response = api.send(ENDPOINTS["post_message"], content=body, headers=JSON)
    assert_error(response, 422, code="invalid", field_name="body")  # over 10,000 characters
    api.assert_nothing_written()


# --- list parameters: a cursor we did not give out is 400, a bad limit 422 ---------------


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_LIMITS = ["0", "-1", "201", "abc", "1.5", "1e3", " 5", "²", "٣", "99999999999999999999999"]
BAD_CURSORS = [
    "not a cursor!",
    "%%%",
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    cursor_of({"a": 1}),
    cursor_of([]),
    cursor_of(["2024-01-01T00:00:00+00:00"]),
    cursor_of(["yesterday", "00000000-0000-4000-8000-000000000000"]),
    cursor_of([5, "00000000-0000-4000-8000-000000000000"]),
    cursor_of(["2024-01-01T00:00:00+00:00", None]),
    cursor_of(["2024-01-01T00:00:00+00:00", {"id": 1}]),
    cursor_of(["2024-01-01T00:00:00+00:00", ["x"]]),
    cursor_of(["2024-01-01T00:00:00+00:00", "x\u0000"]),
    cursor_of(["2024-01-01T00:00:00+00:00", "x" * 100]),
    "WyIyMDI2LTAxLTAxIiwgIngiXQ==",  # ["2026-01-01", "x"]: a naive time (issue #9)
    cursor_of(["2026-01-01", "x"]) + ".AAAAAAAAAAAAAAAAAAAAAA",
    base64.urlsafe_b64encode(b"[" * 3000).decode(),  # deep nesting (RecursionError)
    base64.urlsafe_b64encode(b"[" * 3000).decode() + ".AAAA",
    "a.b.c",
    "." * 600,
]
BAD_AUDIT_CURSORS = [
    "not a cursor!",
    "WyIyMDI2LTAxLTAxIiwgIngiXQ==",
    base64.urlsafe_b64encode(b"[" * 3000).decode(),
    cursor_of(["a"]),
    cursor_of([1.5]),
    cursor_of([True]),
    cursor_of([10**30]),
    cursor_of([-(10**30)]),
    cursor_of([1, 2]),
]


def list_paths(api: Api) -> list[str]:
    return ["/api/v1/rooms", f"/api/v1/rooms/{api.room_id}/messages", "/api/v1/audit"]


@pytest.mark.parametrize("limit", BAD_LIMITS)
def test_a_bad_limit_is_422(api: Api, limit: str) -> None:
    for path in list_paths(api):
        response = api.client.get(path, params={"limit": limit}, headers=api.auth(SARAH))
        error = assert_error(response, 422, code="invalid")
        assert "limit" in error["message"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_this_server_did_not_give_out_is_400(api: Api, cursor: str) -> None:
    for path in list_paths(api)[:2]:
        response = api.client.get(path, params={"cursor": cursor}, headers=api.auth(SARAH))
        error = assert_error(response, 400, code="bad_cursor")
        assert "cursor" in error["message"]


@pytest.mark.parametrize("cursor", BAD_AUDIT_CURSORS)
def test_an_audit_cursor_this_server_did_not_give_out_is_400(api: Api, cursor: str) -> None:
    response = api.client.get("/api/v1/audit", params={"cursor": cursor}, headers=api.auth(SARAH))
    error = assert_error(response, 400, code="bad_cursor")
    assert "cursor" in error["message"]


def next_cursor(api: Api, path: str) -> str:
    cursor = api.client.get(path, params={"limit": "1"}, headers=api.auth(SARAH)).json()["next"]
    assert isinstance(cursor, str)
    return cursor


@pytest.mark.parametrize("path", ["/api/v1/rooms", "/api/v1/audit"])
def test_a_cursor_altered_in_any_way_is_400(api: Api, path: str) -> None:
    """Opaque means signed: a cursor the server gave out, with its position changed (or
    made for another list), is refused before its position is read."""
    ours = next_cursor(api, path)
    payload, _, mac = ours.partition(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # Another position (an earlier audit row, an older room) under the cursor's own MAC.
    values[0] = values[0] + 1 if isinstance(values[0], int) else "2020-01-01T00:00:00+00:00"
    forged = [
        cursor_of(values).replace("=", "") + "." + mac,
        payload + "." + mac[::-1],
        payload,
        ours + "A",
    ]
    other = next_cursor(api, "/api/v1/audit" if path == "/api/v1/rooms" else "/api/v1/rooms")
    for cursor in [*forged, other]:
        response = api.client.get(path, params={"cursor": cursor}, headers=api.auth(SARAH))
        assert_error(response, 400, code="bad_cursor")
    assert api.client.get(path, params={"cursor": ours}, headers=api.auth(SARAH)).status_code == 200


def test_room_cursors_the_server_gives_out_walk_the_whole_list(api: Api) -> None:
    everything = api.client.get("/api/v1/rooms", headers=api.auth(SARAH)).json()["items"]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/rooms", params=params, headers=api.auth(SARAH)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) > 1 and seen == [r["id"] for r in everything]


def test_cursors_the_server_gives_out_walk_the_whole_list(api: Api) -> None:
    path = f"/api/v1/rooms/{api.room_id}/messages"
    everything = api.client.get(path, headers=api.auth(SARAH)).json()["items"]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.client.get(path, params=params, headers=api.auth(SARAH)).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in everything]


# --- ids in the URL that cannot be ids ---------------------------------------------------

NOT_IDS = ["x" * 100, "%00", "abc%00def", "..%2F..%2Fetc", "00000000-0000-4000-8000-0000000000001"]


@pytest.mark.parametrize("bad_id", NOT_IDS)
def test_an_id_that_cannot_exist_is_a_plain_404(api: Api, bad_id: str) -> None:
    for method, path, body in (
        ("GET", f"/api/v1/rooms/{bad_id}", None),
        ("GET", f"/api/v1/rooms/{bad_id}/members", None),
        ("GET", f"/api/v1/rooms/{bad_id}/messages", None),
        ("POST", f"/api/v1/rooms/{bad_id}/messages", MESSAGE),
        ("POST", f"/api/v1/rooms/{bad_id}/members", MEMBER),
        ("PATCH", f"/api/v1/messages/{bad_id}", EDIT),
        ("DELETE", f"/api/v1/rooms/{api.room_id}/members/{bad_id}", None),
    ):
        response = api.client.request(method, path, json=body, headers=api.auth(SARAH))
        assert_error(response, 404, code="not_found")
    api.assert_nothing_written()


# --- idempotent posting -------------------------------------------------------------------


def test_posting_twice_with_the_same_client_id_returns_the_same_message(api: Api) -> None:
    endpoint = ENDPOINTS["post_message"]
    body = with_(endpoint.valid, client_id="phone-7f3a-0001")
    first = api.send(endpoint, body=body)
    assert first.status_code == 201, first.text
    again = api.send(endpoint, body=body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    counts = row_counts(api.app)
    assert counts["Message"] == api.baseline["Message"] + 1
    with api.app.db.session() as session:
        copies = session.exec(select(Message).where(Message.client_id == "phone-7f3a-0001")).all()
    assert len(copies) == 1


def test_the_same_client_id_from_another_author_is_a_separate_message(api: Api) -> None:
    endpoint = ENDPOINTS["post_message"]
    body = with_(endpoint.valid, client_id="shared-0001")
    mine = api.send(endpoint, body=body)
    theirs = api.send(endpoint, body=body, caller=PETE)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["author"]["email"] == PETE


# --- membership rules ---------------------------------------------------------------------


def member_ids(api: Api) -> dict[str, str]:
    items = api.client.get(f"/api/v1/rooms/{api.room_id}/members", headers=api.auth(SARAH)).json()[
        "items"
    ]
    return {m["user"]["email"]: m["user"]["id"] for m in items}


def test_the_lead_cannot_be_removed(api: Api) -> None:
    sarah_id = member_ids(api)[SARAH]
    response = api.client.request(
        "DELETE",
        f"/api/v1/rooms/{api.room_id}/members/{sarah_id}",
        headers=api.auth(SARAH),
        json=REMOVAL,
    )
    assert_error(response, 409, code="conflict")
    api.assert_nothing_written()
    assert SARAH in member_ids(api)


def test_adding_someone_already_in_the_room_is_a_conflict(api: Api) -> None:
    response = api.send(ENDPOINTS["add_member"], body=with_(MEMBER, email=HANA))
    assert_error(response, 409, code="conflict")
    api.assert_nothing_written()


def test_adding_an_unknown_email_is_422_on_the_email(api: Api) -> None:
    response = api.send(ENDPOINTS["add_member"], body=with_(MEMBER, email="ghost@nowhere.example"))
    assert_error(response, 422, code="invalid", field_name="email")
    api.assert_nothing_written()


def test_the_email_is_matched_whatever_its_case_and_spacing(api: Api) -> None:
    response = api.send(ENDPOINTS["add_member"], body=with_(MEMBER, email=f"  {OMAR.upper()} "))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == OMAR


def test_a_member_who_is_not_the_lead_may_not_add_or_remove_403(api: Api) -> None:
    add = api.send(ENDPOINTS["add_member"], body=MEMBER, caller=PETE)
    assert_error(add, 403, code="forbidden")
    dan_id = member_ids(api)[DAN]
    remove = api.client.request(
        "DELETE",
        f"/api/v1/rooms/{api.room_id}/members/{dan_id}",
        headers=api.auth(PETE),
        json=REMOVAL,
    )
    assert_error(remove, 403, code="forbidden")
    api.assert_nothing_written()


def test_an_outsider_may_not_add_or_remove_and_learns_nothing_404(api: Api) -> None:
    add = api.send(ENDPOINTS["add_member"], body=MEMBER, caller=OMAR)
    assert_error(add, 404, code="not_found")
    dan_id = member_ids(api)[DAN]
    remove = api.client.request(
        "DELETE",
        f"/api/v1/rooms/{api.room_id}/members/{dan_id}",
        headers=api.auth(OMAR),
        json=REMOVAL,
    )
    assert_error(remove, 404, code="not_found")
    missing = api.client.request(
        "DELETE",
        f"/api/v1/rooms/00000000-0000-4000-8000-000000000000/members/{dan_id}",
        headers=api.auth(OMAR),
        json=REMOVAL,
    )
    assert remove.json() == missing.json()
    api.assert_nothing_written()


def test_the_lead_can_remove_a_member_and_then_add_them_back(api: Api) -> None:
    dan_id = member_ids(api)[DAN]
    removed = api.client.request(
        "DELETE",
        f"/api/v1/rooms/{api.room_id}/members/{dan_id}",
        headers=api.auth(SARAH),
        json=REMOVAL,
    )
    assert removed.status_code == 204
    assert DAN not in member_ids(api)
    again = api.send(ENDPOINTS["add_member"], body=with_(MEMBER, email=DAN))
    assert again.status_code == 201, again.text
    assert DAN in member_ids(api)


def test_an_unexpected_failure_is_a_500_in_the_same_shape_and_says_nothing_inside(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full at /srv/caseroom/secret/path.py")

    monkeypatch.setattr(message_service, "post_message", broken)
    endpoint = ENDPOINTS["post_message"]
    with TestClient(create_app(caseroom=api.app), raise_server_exceptions=False) as client:
        response = client.post(api.url(endpoint), json=endpoint.valid, headers=api.auth(SARAH))
    assert_error(response, 500, code="internal")
    assert "disk full" not in response.text and "secret" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    api.assert_nothing_written()


def test_errors_without_a_token_are_401_in_the_same_shape(api: Api) -> None:
    for endpoint in ENDPOINTS.values():
        response = api.client.request(endpoint.method, api.url(endpoint), json=endpoint.valid)
        assert_error(response, 401, code="unauthenticated")
    api.assert_nothing_written()
