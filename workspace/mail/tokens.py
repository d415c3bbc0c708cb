"""Unsubscribe links: a signed, purpose-bound token that works without signing in.

The token names a person and one list (the digest, or one kind of notification) and when
it was issued; a MAC under a key derived for this purpose only (crypto.Keys.mac) makes it
unforgeable and useless for anything but unsubscribing. Links in old emails keep working
for a year. Nothing in it is secret, and nothing in it is case data.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workspace.crypto import Keys, constant_time_equals

PURPOSE = b"unsubscribe-v1"
MAX_AGE = timedelta(days=365)
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class Unsubscribe:
    user_id: str
    list_name: str
    issued_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(keys: Keys, body: str) -> str:
    return _b64(keys.mac(PURPOSE, body.encode())[:16])


def make_token(keys: Keys, user_id: str, list_name: str, issued_at: datetime) -> str:
    body = _b64(f"{user_id}|{list_name}|{int(issued_at.timestamp())}".encode())
    return f"{body}.{_mac(keys, body)}"


def read_token(keys: Keys, token: str, now: datetime, lists: frozenset[str]) -> Unsubscribe | None:
    """The request the token carries, or None if it is forged, altered, expired or names
    a list that does not exist."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    if not constant_time_equals(mac, _mac(keys, body)):
        return None
    try:
        user_id, list_name, issued = _unb64(body).decode().split("|")
        issued_at = datetime.fromtimestamp(int(issued), UTC)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        return None
    fresh = issued_at - timedelta(minutes=5) <= now <= issued_at + MAX_AGE
    if list_name not in lists or not fresh:
        return None
    return Unsubscribe(user_id, list_name, issued_at)
