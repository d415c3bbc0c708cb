"""The only importer of oso. One instance, built once at start-up (setup is not
thread-safe; checks are)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from oso import Oso, Variable

from policy.subjects import (
    AccountFact,
    AuditFact,
    BreakGlassFact,
    FileFact,
    ItemFact,
    MembershipFact,
    MessageFact,
    PlanVersionFact,
    Principal,
    RoomFact,
    Workspace,
)

POLICY_DIR = Path(__file__).parent

_CLASSES: dict[str, type] = {
    "User": Principal,
    "Membership": MembershipFact,
    "BreakGlass": BreakGlassFact,
    "Room": RoomFact,
    "Item": ItemFact,
    "Message": MessageFact,
    "File": FileFact,
    "PlanVersion": PlanVersionFact,
    "AuditEvent": AuditFact,
    "Account": AccountFact,
    "Caseroom": Workspace,
}


class Authorizer:
    def __init__(self) -> None:
        self._oso = Oso()
        for name, cls in _CLASSES.items():
            self._oso.register_class(cls, name=name)
        self._oso.load_files(sorted(str(p) for p in POLICY_DIR.glob("*.polar")))

    def is_allowed(self, principal: Principal, action: str, resource: Any) -> bool:
        return bool(self._oso.is_allowed(principal, action, resource))

    def allowed_actions(self, principal: Principal, resource: Any) -> set[str]:
        return {str(a) for a in self._oso.authorized_actions(principal, resource)}

    def roles(self, principal: Principal, room: RoomFact) -> set[str]:
        """The roles the policy grants in a room (after expiry, revocation, closure)."""
        results = self._oso.query_rule("has_role", principal, Variable("role"), room)
        return {str(r["bindings"]["role"]) for r in results}

    def holds(self, rule: str, *args: Any) -> bool:
        """Whether a named rule of the policy holds, e.g. `break_glass(user, room)`."""
        return bool(self._oso.query_rule_once(rule, *args))


@lru_cache(maxsize=1)
def get_authorizer() -> Authorizer:
    return Authorizer()
