"""Turning validation errors into GOV.UK-style messages a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from workspace.errors import Invalid


@dataclass(frozen=True)
class Field:
    label: str  # how the summary names the field ("NHS number")
    missing: str  # what to say when it is empty ("Enter the child's full name")
    invalid: str | None = None  # what to say when a value is there but wrong


ROOM_FIELDS: dict[str, Field] = {
    "name": Field("Full name", "Enter the child's full name"),
    "date_of_birth": Field(
        "Date of birth", "Enter the child's date of birth", "Enter a real date of birth"
    ),
    "nhs_number": Field(
        "NHS number",
        "Enter the NHS number, or leave it empty",
        "Enter a valid NHS number: 10 digits, like 943 476 5919",
    ),
    "upn": Field(
        "Unique pupil number",
        "Enter the unique pupil number, or leave it empty",
        "Enter a valid unique pupil number: 13 characters, like A950000178301",
    ),
    "address": Field("Address", "Enter the address, or leave it empty"),
    "title": Field("Room title", "Enter a room title, or leave it empty"),
    "plan_type": Field("Plan", "Choose a plan", "Choose one of the plans listed"),
}

MEMBER_FIELDS: dict[str, Field] = {
    "email": Field(
        "Their work email",
        "Enter their work email address",
        "Enter an email address in the right format, like name@example.org",
    ),
    "role": Field("Role", "Choose a role", "Choose one of the roles listed"),
    "expires_at": Field("Guest access ends", "Enter when guest access ends", "Enter a real date"),
    "purpose": Field("Purpose of sharing", "Enter why you are sharing with them"),
    "lawful_basis": Field(
        "Lawful basis", "Choose the lawful basis", "Choose one of the lawful bases listed"
    ),
    "consent": Field("Consent", "Say whether consent was given", "Choose one consent option"),
    "consent_reason": Field("Reason consent was not sought", "Say why consent was not sought"),
}

REMOVAL_FIELDS: dict[str, Field] = {
    "reason": Field(
        "Reason",
        "Say why you are removing them",
        "Say why you are removing them, in 1,000 characters or fewer",
    ),
}

CONCERN_FIELDS: dict[str, Field] = {
    "child.name": Field("The child's name", "Enter the child's name"),
    "child.date_of_birth": Field(
        "Date of birth", "Enter the date of birth, or leave it empty", "Enter a real date of birth"
    ),
    "child.nhs_number": Field(
        "NHS number",
        "Enter the NHS number, or leave it empty",
        "Enter a valid NHS number: 10 digits, like 943 476 5919",
    ),
    "child.upn": Field(
        "Unique pupil number",
        "Enter the unique pupil number, or leave it empty",
        "Enter a valid unique pupil number: 13 characters, like A950000178301",
    ),
    "what_happened": Field("What happened", "Say what happened"),
    "happened_at": Field(
        "When", "Enter when it happened", "Enter a real date and time, not in the future"
    ),
    "place": Field("Where", "Say where it happened, or leave it empty"),
    "who_told": Field("Who told you", "Say who told you, or leave it empty"),
    "child_words": Field("What the child said", "Write what the child said, or leave it empty"),
    "action_taken": Field("What you did", "Say what you did, or leave it empty"),
    "sensitivity": Field("Who sees it", "Choose who sees it", "Choose one of the options listed"),
}

CHRONOLOGY_FIELDS: dict[str, Field] = {
    "occurred_at": Field(
        "When it happened",
        "Enter when it happened",
        "Enter a real date and time, not in the future",
    ),
    "type": Field("Type", "Choose what kind of entry this is", "Choose one of the types listed"),
    "summary": Field("Summary", "Write a one-line summary (at most 300 characters)"),
    "sensitivity": Field("Who sees it", "Choose who sees it", "Choose one of the options listed"),
    "item_id": Field("The item", "Choose an item", "That item cannot be marked here"),
}

SHARING_DIALOGUE_FIELDS: dict[str, Field] = {
    "a": Field("The answers", "Answer every question", "Start again: the answers do not follow"),
    "what": Field("What it is about", "Say what the decision is about (at most 64 characters)"),
    "purpose": Field("Why", "Say why (the purpose)"),
    "with_organisation": Field("With which organisation", "Choose one, or none"),
}

SUBJECT_ACCESS_FIELDS: dict[str, Field] = {
    "reference": Field(
        "The request's reference", "Enter the request's reference (3 to 64 characters)"
    ),
}

MESSAGE_FIELDS: dict[str, Field] = {
    "body": Field("Message", "Write a message before posting it"),
    "kind": Field("This is a", "Choose what kind of message this is", "Choose one of the kinds"),
    "sensitivity": Field(
        "Who sees it", "Choose who sees the message", "Choose one of the options listed"
    ),
}

BREAK_GLASS_FIELDS: dict[str, Field] = {
    "nhs_number": Field(
        "NHS number",
        "Enter the child's NHS number, or their full name and date of birth",
        "Enter a valid NHS number: 10 digits, like 943 476 5919",
    ),
    "name": Field(
        "Full name",
        "Enter the child's full name",
        "Enter the child's full name in 200 characters or fewer",
    ),
    "date_of_birth": Field(
        "Date of birth",
        "Enter the child's date of birth",
        "Enter a real date of birth",
    ),
    "reason": Field(
        "Reason",
        "Say why you need to see this room now",
        "Say why you need to see this room now, in 10 to 2,000 characters",
    ),
}

SCHEMA_PREFIX = "Some of the input is not valid"  # workspace.web.validate
_MISSING = ("Field required", "String should have at least 1 character")
# Messages from our own validators that already read well after the field's label.
_OWN = ("cannot be", "is too", "must be")


def explain(exc: Invalid, fields: dict[str, Field], prefix: str = "") -> dict[str, str]:
    """Field name -> message, in form order; a message tied to no known field under ""."""
    raw = {k.removeprefix(prefix): v for k, v in exc.fields.items()}
    if not exc.message.startswith(SCHEMA_PREFIX):
        # A service's own refusal already reads as a sentence: show it by the field.
        known = [name for name in fields if name in raw]
        return {known[0] if known else "": exc.message}
    out: dict[str, str] = {}
    for name, spec in fields.items():
        message = raw.pop(name, None)
        if message is None:
            continue
        if message.startswith(_MISSING):
            out[name] = spec.missing
        elif message.startswith(_OWN):
            out[name] = f"{spec.label} {message}"
        else:
            out[name] = spec.invalid or f"{spec.label}: {message}"
    if raw or not out:
        out[""] = "; ".join(f"{k}: {v}" for k, v in raw.items()) or exc.message
    return out
