"""Identifiers are random, never sequential (DESIGN.md §9)."""

from __future__ import annotations

import secrets
import uuid

_REF_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"


def new_id() -> str:
    return str(uuid.uuid4())


def room_reference() -> str:
    """A short reference for a room that carries nothing about the child (used in email)."""
    return "CR-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
