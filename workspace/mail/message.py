"""An outbox row as an RFC 5322 message: multipart/alternative (plain text + HTML), a
Message-ID that is the same on every attempt (so a receiving system can drop a duplicate),
the Date it was written, and RFC 8058 one-click unsubscribe when the mail is optional."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from workspace.clock import utc
from workspace.models import OutboxEmail

# Bodies are encoded under the SMTP policy (CRLF, quoted-printable lines of at most 76
# characters). Headers are written out allowing RFC 5322's 998 characters, so that a long
# unsubscribe URL stays one literal <URL> rather than becoming RFC 2047 encoded-words,
# which List-Unsubscribe does not allow.
HEADERS = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    data: bytes
    message_id: str


def sender_address(mail_from: str) -> str:
    return parseaddr(mail_from)[1] or "no-reply@caseroom.local"


def message_id(row_id: str, mail_from: str) -> str:
    domain = sender_address(mail_from).rpartition("@")[2] or "caseroom.local"
    return f"<{row_id}@{domain}>"


def build(row: OutboxEmail, mail_from: str) -> Envelope:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = mail_from
    msg["To"] = row.to
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(utc(row.created_at))
    msg["Message-ID"] = message_id(row.id, mail_from)
    # Automatic mail (RFC 3834): no out-of-office replies to it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    if row.list_unsubscribe:
        msg["List-Unsubscribe"] = f"<{row.list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the text readable in the raw message (and checkable).
    msg.set_content(row.text_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html", charset="utf-8", cte="quoted-printable")
    return Envelope(
        sender=sender_address(mail_from),
        recipient=row.to,
        data=msg.as_bytes(policy=HEADERS),
        message_id=msg["Message-ID"],
    )
