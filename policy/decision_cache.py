"""Remembered policy decisions (issue #13): a decision is asked of Oso once per distinct
question, and answered from memory after that. No rule moves out of Polar.

A decision is a pure function of the facts it is asked about: they are frozen values,
built fully loaded (policy/subjects.py), and the policy reads nothing else. So an answer is
remembered under the *values* of the question: a membership added, removed or ended, a
room closed, a break-glass window opened, an item shared, each makes a different principal
or resource, hence a different key, and nothing has to be invalidated.

The one input that changes on every request is the moment (`Principal.now_ts`). The
policy only compares it with expiries (a membership's end, a break-glass window's end), so
the key holds, instead of the moment, its place among those expiries
(`Principal.moment`): an answer is reused until the next expiry that could change it, and
not a moment longer. tests/test_decision_cache.py proves cached answers equal fresh ones
over the whole policy matrix, through changes and expiries, and holds the policy to
comparing the moment with nothing else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from policy.subjects import BreakGlassFact, MembershipFact, Principal

MISSING = object()


def question_key(kind: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key of a question (`kind`: which method, `args`: what it was asked of). Hashing
    it raises TypeError when an argument is not a value (such a question is not remembered)."""
    # A fact passed alongside the principal (`holds("not_expired", user, membership)`)
    # brings its own expiry: the answer changes when the principal's moment reaches it.
    extra = [
        a.expires_ts
        for a in args
        if isinstance(a, (MembershipFact, BreakGlassFact)) and a.expires_ts is not None
    ]
    parts: list[Any] = [kind]
    for a in args:
        if isinstance(a, Principal):
            parts.append(a.timeless)
            parts.append(a.moment)
            parts.extend(e > a.now_ts for e in extra)
        else:
            parts.append(a)
    return tuple(parts)


class DecisionCache:
    """A bounded least-recently-used map from questions to answers, safe across threads
    (checks run on worker threads)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The remembered answer, or `MISSING`; TypeError if the key is unhashable."""
        with self._lock:
            answer = self._answers.get(key, MISSING)
            if answer is MISSING:
                self.misses += 1
            else:
                self.hits += 1
                self._answers.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer: Any) -> None:
        with self._lock:
            self._answers[key] = answer
            if len(self._answers) > self.maxsize:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
