"""The module map keeps its promises (CONVENTIONS.md): one importer of oso, one of nacl,
routes that never touch the database directly, and case data reached only via access.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p for d in ("workspace", "policy", "realtime") for p in (ROOT / d).rglob("*.py")
)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def importers_of(prefix: str) -> set[str]:
    return {
        str(p.relative_to(ROOT))
        for p in SOURCES
        if any(name == prefix or name.startswith(prefix + ".") for name in imports_of(p))
    }


def test_only_the_authorizer_imports_oso() -> None:
    assert importers_of("oso") == {"policy/authorizer.py"}


def test_only_crypto_imports_nacl() -> None:
    """The server's crypto (password hashes, at-rest keys, audit signatures; it holds no
    file key) and the client's (issue #10: a person's keys, on their own machine) are kept
    apart, each in one module, so neither grows a second, unreviewed use of libsodium."""
    assert importers_of("nacl") == {"workspace/crypto.py", "workspace/client/crypto.py"}


def test_the_client_uses_nothing_of_the_server_but_the_file_format() -> None:
    """An agency runs workspace/client/ on its own machine against any Caseroom server."""
    client = {p for p in importers_of("workspace") if p.startswith("workspace/client/")}
    for path in client:
        used = {n for n in imports_of(ROOT / path) if n.startswith("workspace")}
        assert used <= {"workspace", "workspace.fileformat"} | {
            n for n in used if n.startswith("workspace.client")
        }, path


def test_the_policy_is_reached_only_through_the_access_layer() -> None:
    """access.py is the choke point; facts.py, visibility.py and audience.py are its parts
    (facts for single decisions, SQL for lists, channels for live delivery); events.py
    carries facts to the fan-out; state.py builds the one Authorizer at start-up."""
    allowed = {
        "workspace/access.py",
        "workspace/facts.py",
        "workspace/visibility.py",
        "workspace/audience.py",
        "workspace/events.py",
        "workspace/state.py",
    }
    outside = {p for p in importers_of("policy") if not p.startswith("policy/")}
    assert outside <= allowed, f"imports the policy around the choke point: {outside - allowed}"


@pytest.mark.parametrize("module", ["workspace.db", "sqlmodel", "sqlalchemy"])
def test_routes_never_touch_the_database_directly(module: str) -> None:
    routes = {p for p in importers_of(module) if p.startswith("workspace/routes/")}
    assert routes == set()


def test_services_do_not_ask_the_authorizer_directly() -> None:
    """Services decide through Access (audited), never app.authorizer (unaudited)."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "workspace" / "services").glob("*.py")
        if ".authorizer." in p.read_text()
    ]
    assert offenders == []
