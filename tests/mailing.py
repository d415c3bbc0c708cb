"""What the mail tests share: a real SMTP server behind every app they build, one drain of
the outbox as the worker does it, and the demo's case identifiers (none of which may ever
appear in an email)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import SARAH, Tokens, give_second_factor
from tests.mailbox import Mailbox, Received
from workspace.mail import worker
from workspace.models import Child, Message, MessageEdit, OutboxEmail, Room
from workspace.services import digests
from workspace.state import Caseroom

# A mail test module says `pytestmark = pytest.mark.mail`: tests/conftest.py then points
# every app of each test at that test's real SMTP server (`mailbox`), and `quiet` empties
# it of the demo's emails first.


def empty_outbox(app: Caseroom, mailbox: Mailbox) -> None:
    """The demo's "you were added" emails have gone out; the mailbox starts empty."""
    deliver(app)
    mailbox.received.clear()


def deliver(app: Caseroom) -> worker.Stats:
    """One drain of the outbox, as `caseroom worker` does it."""
    return run_async(worker.drain(app))


def write_digests(app: Caseroom) -> digests.DigestRun:
    """`caseroom digest send --now`."""
    return digests.send_digests(app, force=True)


def rows(app: Caseroom, **where: Any) -> list[OutboxEmail]:
    with app.db.session() as session:
        query = select(OutboxEmail).order_by(col(OutboxEmail.created_at))
        for name, value in where.items():
            query = query.where(getattr(OutboxEmail, name) == value)
        return list(session.exec(query).all())


def room_of(app: Caseroom, child_first_name: str) -> Room:
    with app.db.session() as session:
        return session.exec(select(Room).where(col(Room.title).startswith(child_first_name))).one()


def post(
    client: TestClient, auth: Tokens, who: str, room_id: str, body: str, sensitivity: str = "room"
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/rooms/{room_id}/messages",
        headers=auth(who),
        json={"body": body, "kind": "note", "sensitivity": sensitivity},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_member(
    client: TestClient,
    auth: Tokens,
    room_id: str,
    who: str,
    role: str = "member",
    expires_at: str | None = None,
    second_factor: bool = True,
) -> None:
    """Sarah adds `who`. A guest must have a second factor (issue #5): they are given one
    first unless the test is about one who has none."""
    if role == "guest" and second_factor:
        give_second_factor(auth.app, who)
    data = {"email": who, "role": role, "purpose": "Core group",
            "lawful_basis": "safeguarding", "consent": "given"}  # fmt: skip
    if expires_at:
        data["expires_at"] = expires_at
    response = client.post(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH), json=data)
    assert response.status_code == 201, response.text


def digest_to(mailbox: Mailbox, address: str) -> list[Received]:
    return [r for r in mailbox.to(address) if "digest" in str(r.message["Subject"])]


def text_of(received: Received) -> str:
    plain = received.message.get_body(("plain",))
    assert plain is not None
    return str(plain.get_content()).replace("\r\n", "\n")


# --- what must never be in an email ------------------------------------------------------------


def _date_forms(d: date) -> list[str]:
    return [
        d.isoformat(),
        d.strftime("%d/%m/%Y"),
        d.strftime("%d.%m.%Y"),
        d.strftime("%Y%m%d"),
        f"{d.day} {d:%B %Y}",
        f"{d.day} {d:%b %Y}",
        d.strftime("%d %B %Y"),
    ]


def forbidden(app: Caseroom) -> list[str]:
    """Every child's name (and each part of it), date of birth (in the usual spellings),
    NHS number (plain and spaced), UPN and address; every room title (they name the child);
    every message body and every earlier version of one."""
    found: list[str] = []
    with app.db.session() as session:
        for child in session.exec(select(Child)).all():
            found.append(child.name)
            found.extend(part for part in child.name.split() if len(part) > 2)
            found.extend(_date_forms(child.date_of_birth))
            if child.nhs_number:
                n = child.nhs_number
                found += [n, f"{n[:3]} {n[3:6]} {n[6:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}"]
            if child.upn:
                found.append(child.upn)
            if child.address:
                found.append(child.address)
                found.extend(p.strip() for p in child.address.split(",") if len(p.strip()) > 3)
        found.extend(session.exec(select(Room.title)).all())
        found.extend(session.exec(select(Message.body)).all())
        found.extend(session.exec(select(MessageEdit.body)).all())
    return found


def assert_no_case_content(app: Caseroom, received: Received) -> None:
    """Searched in the raw bytes as sent, and in every decoded part (quoted-printable may
    break a line in the middle of a word)."""
    decoded = [
        str(part.get_content()) for part in received.message.walk() if not part.is_multipart()
    ]
    decoded.append(str(received.message["Subject"]))
    for secret in forbidden(app):
        assert secret.encode() not in received.raw, secret
        for text in decoded:
            assert secret not in text, secret
