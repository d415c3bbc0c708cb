"""Input shapes of the API (and of the forms that share its services). Unknown fields,
wrong types and over-long text are refused with 422 before any service runs."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from workspace.clock import clock, utc
from workspace.errors import Invalid
from workspace.identifiers import is_valid_nhs_number, is_valid_upn, normalise_nhs_number

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


def _aware_utc(value: datetime) -> datetime:
    """A time from outside as aware UTC (a naive one is UTC). Python's datetime stops at
    years 1 and 9999, so a time at either edge with an offset (`9999-12-31T23:59:59-23:59`)
    has no UTC value: refused here, as out of range, not an OverflowError later."""
    try:
        return utc(value)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


# Every date and time the API, the forms and the query strings take is read as a When.
When = Annotated[datetime, AfterValidator(_aware_utc)]
_WHEN: TypeAdapter[datetime] = TypeAdapter(When)


def parse_when(name: str, raw: str | None) -> datetime | None:
    """A date or time from a query string or form (ISO 8601, a date alone is its
    midnight UTC): None when empty, else aware UTC, or 422 naming the field."""
    if raw is None or raw == "":
        return None
    try:
        return _WHEN.validate_python(raw, strict=False)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        if message != "is out of range":
            message = "must be an ISO 8601 date or time"
        raise Invalid(f"{name} {message}.", fields={name: message}) from exc


# --- names and titles -----------------------------------------------------------------------

# Characters that change how a name reads without being seen: bidirectional embeddings,
# overrides, isolates and marks, and zero-width characters. "\u202eretsiM" shows as
# "Mister"; in a list of names or the access log that is a spoofing vector. Removed.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
NAME_MAX = 200


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"  # C0, DEL and C1, tab and newline included


def neutralise(text: str) -> str:
    """A name as it may be shown: NFC, no invisible or direction-changing characters, no
    control characters (each shown as U+FFFD), one space between words. For names stored
    before they were checked (migration 0010) and anything else that must not spoof."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = "".join("\ufffd" if _is_control(c) else c for c in text)
    return " ".join(text.split())


def clean_name(value: str, *, max_length: int = NAME_MAX, required: bool = True) -> str:
    """The one rule for every name and title (people, children, rooms, organisations,
    teams, tokens): control characters are refused (they are never part of a name, and
    NUL cannot even be stored in PostgreSQL); invisible and direction-changing characters
    are removed; spaces are collapsed. Raises ValueError with what is wrong."""
    if any(_is_control(c) for c in value):
        raise ValueError("must not contain control characters")
    cleaned = neutralise(value)
    if required and not cleaned:
        raise ValueError("String should have at least 1 character")
    if len(cleaned) > max_length:
        raise ValueError(f"is too long (at most {max_length} characters)")
    return cleaned


def check_name(field: str, value: str, *, max_length: int = NAME_MAX) -> str:
    """clean_name for a value that did not come through a schema (CLI, accepting an
    invitation): 422 naming the field."""
    try:
        return clean_name(value, max_length=max_length)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("String should"):
            message = "is required"
        raise Invalid(f"{field} {message}.", fields={field: message}) from exc


def _optional_name(value: str) -> str:
    return clean_name(value, required=False)


# A name that must be given, and a name or title that may be left empty ("" then). The
# length bounds are checked again after cleaning; stated here, they are in the OpenAPI.
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_MAX), AfterValidator(clean_name)
]
OptionalName = Annotated[
    str, StringConstraints(max_length=NAME_MAX), AfterValidator(_optional_name)
]


PlanType = Literal["child_protection", "child_in_need", "early_help"]
# The same kinds as MESSAGE_KINDS (workspace/models/message.py; a test keeps them equal).
Kind = Literal["fact", "opinion", "voice_of_child", "third_party", "decision", "note"]
Sensitivity = Literal["room", "restricted"]
LawfulBasis = Literal["public_task", "legal_obligation", "safeguarding"]
Consent = Literal["given", "refused", "not_sought"]


# C0 control characters other than tab, newline and carriage return. NUL cannot be stored
# in PostgreSQL text at all; the others are never part of a case note and only hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value


def date_of_birth_as_text(value: object) -> object:
    if not isinstance(value, str | date):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def date_of_birth_in_range(value: date) -> date:
    today = clock.now().date()  # the app's clock, so tests and the server agree
    if value > today:
        raise ValueError("cannot be in the future")
    if value.year < today.year - 25:
        raise ValueError("is too long ago for a child")
    return value


def nhs_number_or_none(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = normalise_nhs_number(value)
    if not is_valid_nhs_number(value):
        raise ValueError("is not a valid NHS number (10 digits with a mod-11 check digit)")
    return value


def upn_or_none(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.upper()
    if not is_valid_upn(value):
        raise ValueError("is not a valid unique pupil number (check letter does not match)")
    return value


class ChildIn(Strict):
    name: Name
    date_of_birth: date = Field(description="YYYY-MM-DD")
    nhs_number: str | None = Field(default=None, max_length=14)
    upn: str | None = Field(default=None, max_length=13)
    address: Annotated[str, StringConstraints(max_length=500)] | None = None

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    _dob_is_iso_string = field_validator("date_of_birth", mode="before")(date_of_birth_as_text)
    _dob_in_range = field_validator("date_of_birth")(date_of_birth_in_range)
    _nhs = field_validator("nhs_number")(nhs_number_or_none)
    _upn = field_validator("upn")(upn_or_none)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return value or None


class ChildIdentifiersIn(Strict):
    """What someone outside a room may know of a child besides their name (an agency
    event, a concern): each optional, each checked as ChildIn checks it."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    date_of_birth: date | None = Field(default=None, description="YYYY-MM-DD")
    nhs_number: str | None = Field(default=None, max_length=14)
    upn: str | None = Field(default=None, max_length=13)

    _dob_is_iso_string = field_validator("date_of_birth", mode="before")(date_of_birth_as_text)
    _nhs = field_validator("nhs_number")(nhs_number_or_none)
    _upn = field_validator("upn")(upn_or_none)

    @field_validator("date_of_birth")
    @classmethod
    def _dob_in_range(cls, value: date | None) -> date | None:
        return None if value is None else date_of_birth_in_range(value)


class RoomIn(Strict):
    title: OptionalName | None = None
    plan_type: PlanType = "child_in_need"
    child: ChildIn


class MemberIn(Strict):
    email: Email
    role: Literal["member", "guest"] = "member"
    expires_at: When | None = None
    purpose: LongText
    lawful_basis: LawfulBasis
    consent: Consent
    consent_reason: Annotated[str, StringConstraints(max_length=1000)] | None = None
    # The "Should I share?" decision this share follows, if the lead worked through it first.
    guided_by: Annotated[str, StringConstraints(max_length=36)] | None = None

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    @field_validator("email", "purpose", "lawful_basis", "consent", "role", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value


class _FormStrings(Strict):
    """A form's fields, each a string (an HTML form sends nothing else)."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a string")
        return value


# The roles an administrator gives are the policy's (`grantable_role`); the schema only
# bounds the text.
Role = Annotated[str, StringConstraints(min_length=1, max_length=32)]
TeamId = Annotated[str, StringConstraints(max_length=36)]


class AccountIn(_FormStrings):
    """An administrator adds an account to their organisation (issue #16). The team is one
    of the organisation's (`team_id`) or a new one (`new_team`), or none."""

    name: Name
    email: Email
    role: Role
    team_id: TeamId = ""
    new_team: OptionalName = ""


class AccountChangeIn(_FormStrings):
    """An administrator sets someone's role and team, and says why."""

    role: Role
    team_id: TeamId = ""
    new_team: OptionalName = ""
    reason: LongText


class RemovalIn(Strict):
    """Removing someone from a room: the lead says why. Kept with the membership it ends,
    in the audit record, and told in the room's history to its lead and members."""

    reason: LongText

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    @field_validator("reason", mode="before")
    @classmethod
    def _string(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value


class MessageIn(Strict):
    body: Body
    kind: Kind = "note"
    sensitivity: Sensitivity = "room"
    thread_id: str | None = Field(default=None, max_length=36)
    client_id: str | None = Field(default=None, max_length=64)


class MessageEditIn(Strict):
    body: Body


class TotpIn(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$|^[a-z0-9]{4}-[a-z0-9]{4}$")]
