"""Opaque keyset cursors for lists: `{"items": [...], "next": cursor-or-null}`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from workspace.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise Invalid("The cursor is not one this server gave out.") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise Invalid("The cursor is not one this server gave out.")
    if not all(_cursor_value_ok(v) for v in values):
        raise Invalid("The cursor is not one this server gave out.")
    return values


def _cursor_value_ok(value: Any) -> bool:
    """Our cursors hold ids, ISO times and sequence numbers: short strings or 32-bit ints.
    Anything else (null, floats, lists, NUL bytes, huge numbers) must not reach SQL."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    return isinstance(value, str) and len(value) <= 64 and value.isprintable()


def cursor_time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Invalid("The cursor is not one this server gave out.") from exc


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)
