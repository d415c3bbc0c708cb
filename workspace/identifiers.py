"""Child identifiers, validated on input: a wrong one silently breaks matching
(DOMAIN.md, "Identifiers")."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def is_valid_nhs_number(value: str) -> bool:
    """10 digits; digits 1-9 weighted 10..2; check = 11 - (sum mod 11); 11 -> 0; 10 invalid."""
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


def is_valid_upn(value: str) -> bool:
    """Check letter + LA (3) + establishment (4) + year (2) + serial (3); a temporary UPN
    ends in a letter. Check = sum(value x position, positions 2-13) mod 23 -> letter."""
    value = value.upper()
    if not re.fullmatch(rf"[{_UPN_LETTERS}]\d{{11}}[\d{_UPN_LETTERS}]", value):
        return False
    total = 0
    for position, char in enumerate(value[1:], start=2):
        digit = int(char) if char.isdigit() else _UPN_LETTERS.index(char)
        total += digit * position
    return _UPN_LETTERS[total % 23] == value[0]


def normalise_name(name: str) -> str:
    """A name as matching compares it: accents and case folded away, and only letters and
    digits kept, so "Zoë O'Brien-Smith" and "zoe obrien smith" are the same child (with the
    same date of birth). Spaces go too: "Mary Jane" and "Mary-Jane" are one name."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(c for c in bare if c.isalnum()) or " ".join(bare.split())


def child_keys(
    name: str, date_of_birth: date, nhs_number: str | None, upn: str | None
) -> list[str]:
    """Each way of recognising a child: one open room may hold each (models.ChildKey)."""
    return [name_key(name, date_of_birth), *identifier_keys(nhs_number, upn)]


def name_key(name: str, date_of_birth: date) -> str:
    return f"name:{normalise_name(name)}|{date_of_birth.isoformat()}"


def identifier_keys(nhs_number: str | None, upn: str | None) -> list[str]:
    keys = []
    if nhs_number:
        keys.append(f"nhs:{normalise_nhs_number(nhs_number)}")
    if upn:
        keys.append(f"upn:{upn.strip().upper()}")
    return keys


def match_keys(
    name: str | None, date_of_birth: date | None, nhs_number: str | None, upn: str | None
) -> list[str]:
    """How a report from outside finds a child's room: by an exact NHS number or UPN; by
    name and date of birth only when it carries neither (two children can share both)."""
    keys = identifier_keys(nhs_number, upn)
    if not keys and name and date_of_birth:
        keys.append(name_key(name, date_of_birth))
    return keys
