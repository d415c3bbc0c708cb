"""Opaque keyset cursors for lists: `{"items": [...], "next": cursor-or-null}`."""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workspace.clock import utc
from workspace.errors import BadRequest, Invalid

if TYPE_CHECKING:
    from workspace.crypto import Keys

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


# A cursor is the position it names and a MAC of it under a key of its own purpose: a
# cursor this server did not give out is refused before anything of it is parsed (no
# forged positions, no naive times, no 3,000 nested lists reaching the JSON parser).
CURSOR_PURPOSE = b"list-cursor-v1"
MAX_CURSOR_LENGTH = 512
MAC_BYTES = 16


def encode_cursor(keys: Keys, *values: Any) -> str:
    payload = json.dumps(values, separators=(",", ":")).encode()
    mac = keys.mac(CURSOR_PURPOSE, payload)[:MAC_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(keys: Keys, cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise BadCursor()
    encoded, _, sent_mac = cursor.partition(".")
    try:
        payload, mac = _unb64(encoded), _unb64(sent_mac)
    except ValueError as exc:
        raise BadCursor() from exc
    if not hmac.compare_digest(mac, keys.mac(CURSOR_PURPOSE, payload)[:MAC_BYTES]):
        raise BadCursor()
    try:
        values = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # ours always parse; kept for a changed key
        raise BadCursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadCursor()
    if not all(_cursor_value_ok(v) for v in values):
        raise BadCursor()
    return values


class BadCursor(BadRequest):
    def __init__(self) -> None:
        super().__init__("The cursor is not one this server gave out.", code="bad_cursor")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _cursor_value_ok(value: Any) -> bool:
    """Our cursors hold ids, ISO times and sequence numbers: short strings or 32-bit ints."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    return isinstance(value, str) and len(value) <= 64 and value.isprintable()


def cursor_time(value: Any) -> datetime:
    """An aware UTC time from a cursor (ours hold the row's aware ISO time)."""
    try:
        return utc(datetime.fromisoformat(value))
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadCursor() from exc


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)
