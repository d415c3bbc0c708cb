"""The only importer of oso. One instance, built once at start-up (setup is not
thread-safe; checks are). Decisions are remembered (policy/decision_cache.py): asking the
same question of the same facts again costs a dictionary lookup, not a Polar query."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from oso import Oso, Variable

from policy.decision_cache import MISSING, DecisionCache, question_key
from policy.subjects import (
    AccountFact,
    AgencyEventFact,
    AuditFact,
    BreakGlassFact,
    ChronologyEntryFact,
    ContactFact,
    ContactPhotoFact,
    FileFact,
    ItemFact,
    MembershipFact,
    MessageFact,
    PhotoOfferFact,
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
    "ChronologyEntry": ChronologyEntryFact,
    "AgencyEvent": AgencyEventFact,
    "Contact": ContactFact,
    "ContactPhoto": ContactPhotoFact,
    "PhotoOffer": PhotoOfferFact,
    "PlanVersion": PlanVersionFact,
    "AuditEvent": AuditFact,
    "Account": AccountFact,
    "Caseroom": Workspace,
}


# Distinct questions remembered. The demo's whole matrix is under a thousand; a busy
# deployment's working set (people x open rooms x actions) fits many times over.
CACHE_SIZE = 100_000


class Authorizer:
    def __init__(self, *, cache: bool = True, cache_size: int = CACHE_SIZE) -> None:
        """`cache=False`: every answer is a fresh Polar query (the tests compare the two)."""
        self._oso = Oso()
        for name, cls in _CLASSES.items():
            self._oso.register_class(cls, name=name)
        self._oso.load_files(sorted(str(p) for p in POLICY_DIR.glob("*.polar")))
        self.cache = DecisionCache(cache_size) if cache else None

    def _answer(self, kind: str, args: tuple[Any, ...], ask: Callable[[], Any]) -> Any:
        if self.cache is None:
            return ask()
        key = question_key(kind, args)
        try:
            answer = self.cache.get(key)
        except TypeError:  # an argument that is not a value: nothing to remember it by
            return ask()
        if answer is MISSING:
            answer = ask()
            self.cache.put(key, answer)
        return answer

    def is_allowed(self, principal: Principal, action: str, resource: Any) -> bool:
        return bool(
            self._answer(
                "allow",
                (principal, action, resource),
                lambda: bool(self._oso.is_allowed(principal, action, resource)),
            )
        )

    def allowed_actions(self, principal: Principal, resource: Any) -> set[str]:
        return set(
            self._answer(
                "actions",
                (principal, resource),
                lambda: frozenset(
                    str(a) for a in self._oso.authorized_actions(principal, resource)
                ),
            )
        )

    def roles(self, principal: Principal, room: RoomFact) -> set[str]:
        """The roles the policy grants in a room (after expiry, revocation, closure)."""

        def ask() -> frozenset[str]:
            results = self._oso.query_rule("has_role", principal, Variable("role"), room)
            return frozenset(str(r["bindings"]["role"]) for r in results)

        return set(self._answer("roles", (principal, room), ask))

    def holds(self, rule: str, *args: Any) -> bool:
        """Whether a named rule of the policy holds, e.g. `break_glass(user, room)`."""
        return bool(
            self._answer(
                "holds", (rule, *args), lambda: bool(self._oso.query_rule_once(rule, *args))
            )
        )


@lru_cache(maxsize=1)
def get_authorizer() -> Authorizer:
    return Authorizer()
