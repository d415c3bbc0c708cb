"""The audit log's signed head, emailed daily to every IG lead (DESIGN.md §4), so a copy of
the witness lives off the machine: someone who can rewrite both the database and the data
dir still cannot reach the IG leads' mailboxes.

Content-free: a record number, the chain MAC there, when it was signed, the key id and the
signature, and the witness line that holds them (which `caseroom audit verify --witness`
reads back). Nothing about any case, person or room. Each email sent is audited
(`audit_head_sent`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists
from sqlmodel import col, select

from workspace import audit
from workspace.access import Access, Origin, Target
from workspace.models import AuditCheckpoint, OutboxEmail, User
from workspace.services import outbox
from workspace.state import Caseroom

KIND = "audit_head"
EVERY = timedelta(days=1)


def send_signed_head(app: Caseroom) -> int:
    """Enqueue the newest signed checkpoint to each IG lead who has not had one within a
    day; returns how many emails were written."""
    now = app.clock.now()
    with app.db.session() as session:
        cp = session.exec(
            select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq).desc()).limit(1)
        ).first()
        if cp is None:
            return 0
        sent_lately = exists().where(
            col(OutboxEmail.user_id) == col(User.id),
            col(OutboxEmail.kind) == KIND,
            col(OutboxEmail.created_at) > now - EVERY,
        )
        leads = session.exec(
            select(User)
            .where(col(User.org_role) == "ig_lead", col(User.disabled).is_(False), ~sent_lately)
            .order_by(col(User.email))
        ).all()
        access = Access(app, session, None, Origin("email"), purpose="audit witness")
        entry = audit.witness_entry(cp)
        for lead in leads:
            row = outbox.enqueue(
                access,
                outbox.Mail(
                    to=outbox.Recipient.of(lead),
                    kind=KIND,
                    subject=f"Caseroom audit log: signed head at record {cp.seq}",
                    template="audit_head",
                    context={
                        "seq": entry.seq,
                        "mac": entry.mac,
                        "signed_at": entry.signed_at,
                        "key_id": entry.key_id,
                        "signature": entry.signature,
                        "public_key": app.keys.public_key,
                        "witness_line": entry.line(),
                    },
                ),
            )
            access.record(
                "audit_head_sent", Target("email", row.id), purpose=f"record {cp.seq}"
            )
        session.commit()
        return len(leads)
