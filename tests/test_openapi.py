"""The OpenAPI document tells the truth (issue #9, item 10): its paths are exactly the
API's routes; every operation, fuzzed by schemathesis with a real token, answers only
what the document says (statuses, content types, shapes) and never a 5xx; a method a path
does not serve answers 405 with `Allow`; and a caller without credentials gets 401 before
anything about their body is judged."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import Case, GenerationMode, checks
from schemathesis.config import SchemathesisConfig
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.conftest import DAN, SARAH, LiveServer, Tokens
from tests.test_choke_point_routes import a_file
from workspace.app import create_app
from workspace.ratelimit import token_limiter
from workspace.routes.api.openapi import document
from workspace.state import Caseroom

# Bounded and repeatable: a fixed seed and a few valid and invalid examples per operation.
EXAMPLES = 3
CONFIG = SchemathesisConfig.from_dict({"seed": 9, "generation": {"database": "none"}})
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
]
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def api_routes(app: Starlette) -> dict[str, set[str]]:
    """Path -> methods of every route mounted under /api/v1, from the route table."""
    [mount] = [r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1"]
    served: dict[str, set[str]] = {}
    for route in mount.routes:
        assert isinstance(route, Route) and route.methods
        served.setdefault(route.path, set()).update(route.methods - {"HEAD"})
    return served


def documented() -> dict[str, set[str]]:
    return {path: {m.upper() for m in ops} for path, ops in document()["paths"].items()}


def test_the_documents_paths_and_methods_are_exactly_the_api_routes(app: Caseroom) -> None:
    assert documented() == api_routes(create_app(caseroom=app))


# --- schemathesis: every operation, a real token, real ids ----------------------------------


@pytest.fixture
def real_ids(
    client: TestClient,
    auth: Tokens,
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Ids from the demo that Sarah (lead of Jamie's room) may act on, so that the fuzzed
    bodies reach the services instead of stopping at a 404 for a random id."""
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    items = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH)).json()["items"]
    message_id = next(m["id"] for m in items if m["author"]["email"] == SARAH)
    invitation = client.post(
        f"/api/v1/rooms/{room_id}/members",
        headers=auth(SARAH),
        json={"email": "fuzz.invitee@youthclub.example", "role": "member",
              "purpose": "Youth worker", "lawful_basis": "safeguarding", "consent": "given",
              "organisation_name": "Oakfield Youth Club", "organisation_kind": "voluntary"},
    )  # fmt: skip
    assert invitation.status_code == 202, invitation.text
    dan = client.get("/api/v1/me", headers=auth(DAN)).json()["id"]
    file_id = a_file(live_server, auth, room_id, tmp_path_factory.mktemp("outside"))
    plan = f"/api/v1/rooms/{room_id}/plan"
    outcome = client.post(f"{plan}/outcomes", headers=auth(SARAH), json={"text": "Safe"}).json()
    action = client.post(f"{plan}/outcomes/{outcome['id']}/actions", headers=auth(SARAH),
                         json={"text": "Visit weekly"}).json()  # fmt: skip
    version = client.post(f"{plan}/versions", headers=auth(SARAH)).json()["version"]
    return {"room_id": room_id, "message_id": message_id, "user_id": dan,
            "invitation_id": invitation.json()["id"], "file_id": file_id,
            "outcome_id": outcome["id"], "action_id": action["id"], "version": version,
            # Sarah reviews no flags (a lead, no manager): any well-formed id is a 404 to her.
            "flag_id": "0" * 32,
            # Nor is she the front door (issue #14): a contact is a 404 to her.
            "contact_id": "0" * 32,
            # Nor has she a photo on a concern she may read.
            "photo_id": "0" * 32}  # fmt: skip


def test_every_operation_answers_as_documented(
    live_server: LiveServer, auth: Tokens, real_ids: dict[str, Any]
) -> None:
    """Over a real socket (uvicorn on a thread), as Sarah with a real API token: valid
    and invalid inputs for every operation, seeded, a few of each."""
    api = schemathesis.openapi.from_dict(document(), config=CONFIG)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in documented().values())
    for operation in operations:
        ids = {p.name: real_ids[p.name] for p in operation.path_parameters}
        # Invalid inputs only where there are inputs to get wrong (ids are real, above).
        invalid = [GenerationMode.NEGATIVE] if operation.query or operation.body else []
        for mode in (GenerationMode.POSITIVE, *invalid):

            @given(case=operation.as_strategy(mode, path_parameters=ids))
            @seed(9)
            @settings(max_examples=EXAMPLES, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
            def answers_as_documented(case: Case) -> None:
                token_limiter.reset()  # ignored_auth sends bad tokens; 429 is another test's
                case.call_and_validate(
                    base_url=live_server.url + "/api/v1", headers=auth(SARAH), checks=CHECKS,
                    timeout=30,
                )  # fmt: skip

            answers_as_documented()


# --- what schemathesis does not probe here --------------------------------------------------


def test_a_method_a_path_does_not_serve_is_405_with_allow(
    client: TestClient, auth: Tokens, real_ids: dict[str, Any]
) -> None:
    for path, methods in documented().items():
        url = "/api/v1" + path.format(**real_ids)
        for method in sorted(METHODS - methods):
            response = client.request(method, url, headers=auth(SARAH))
            assert response.status_code == 405, (method, path, response.text)
            assert response.json()["error"]["code"] == "method_not_allowed"
            allowed = set(response.headers["allow"].split(", ")) - {"HEAD"}
            assert allowed == methods, (method, path, response.headers["allow"])


@pytest.mark.parametrize("token", [None, "crm_not-a-token"], ids=["no token", "bad token"])
def test_without_valid_credentials_a_bad_body_is_401_not_422(
    client: TestClient, real_ids: dict[str, Any], token: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            url = "/api/v1" + path.format(**real_ids)
            for body in (b"{not json", b'{"unknown": 1}', b"[]"):
                token_limiter.reset()  # this is about order, not about guessing tokens
                response = client.request(method, url, content=body, headers=headers)
                assert response.status_code == 401, (method, path, body, response.text)
                assert response.json()["error"]["code"] == "unauthenticated"
