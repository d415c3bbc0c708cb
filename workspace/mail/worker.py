"""`caseroom worker`: deliver the outbox, write due digests, send reminders, sign the
audit log's head and mail it daily to the IG leads, and clear away abandoned uploads.

One email at a time: claim it (committed), hand it over to the server (committed just
before DATA), settle it (committed). The SMTP
connection lives for one drain and is closed after it. SIGTERM or SIGINT lets the email in
flight finish and be settled, then the worker exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from dataclasses import dataclass
from datetime import timedelta

from workspace.mail.message import build
from workspace.mail.sender import ConnectFailed, Outcome, Result, SmtpSender
from workspace.mail.smtp_url import parse_smtp_url
from workspace.services import digests, outbox, reminders, signed_head
from workspace.services.files import sweep
from workspace.state import Caseroom

log = logging.getLogger("caseroom.mail")
SCHEDULE_EVERY = 60.0  # seconds between looks for due digests and reminders


@dataclass
class Stats:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    uncertain: int = 0
    lost_leases: int = 0
    requeued: int = 0
    digests: int = 0

    def count(self, status: str) -> None:
        if status == "sent":
            self.sent += 1
        elif status == "pending":
            self.retrying += 1
        elif status == "dead":
            self.dead += 1
        elif status == "uncertain":
            self.uncertain += 1

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to retry, {self.dead} dead, "
            f"{self.uncertain} uncertain, {self.lost_leases} found unsettled after a crash, "
            f"{self.requeued} found never handed over after a crash (queued again), "
            f"{self.digests} digests written"
        )


def expire_leases(app: Caseroom, stats: Stats) -> None:
    lease = timedelta(seconds=app.settings.mail_lease_seconds)
    with app.db.session() as session:
        expired = outbox.expire_leases(session, app.clock.now(), lease)
        session.commit()
    if expired.requeued:
        log.warning(
            "%d email(s) were claimed by a stopped worker and never handed to the mail "
            "server: queued again",
            expired.requeued,
        )
    if expired.uncertain:
        log.warning(
            "%d email(s) were handed to the mail server by a stopped worker, answer unknown: "
            "now 'uncertain'",
            expired.uncertain,
        )
    stats.lost_leases += expired.uncertain
    stats.requeued += expired.requeued


def housekeeping(app: Caseroom, stats: Stats) -> None:
    """Leases, reminders, due digests, the audit head, abandoned uploads. A failing one
    is logged and does not stop the others, nor the outbox from being delivered."""
    expire_leases(app, stats)
    try:
        reminders.run_reminders(app)
    except Exception:
        log.exception("reminders failed this round")
    try:
        stats.digests += digests.send_digests(app).written
    except Exception:
        log.exception("digests failed this round")
    try:
        checkpoint_audit(app)
    except Exception:
        log.exception("audit checkpoint failed this round")
    try:
        signed_head.send_signed_head(app)
    except Exception:
        log.exception("the audit log's signed head was not mailed this round")
    try:
        swept = sweep.sweep(app)
        if swept.declarations or swept.temporary_files:
            log.info("abandoned uploads: %d declaration(s) and %d temporary file(s) removed",
                     swept.declarations, swept.temporary_files)  # fmt: skip
    except Exception:
        log.exception("abandoned uploads were not swept this round")


def checkpoint_audit(app: Caseroom) -> None:
    """Sign the audit chain's head whenever it has moved, so a quiet deployment is not
    left with a long unsigned tail (appends sign one only every CHECKPOINT_EVERY events)."""
    with app.db.session() as session:
        app.audit.checkpoint(session)
        session.commit()


def _claim(app: Caseroom) -> outbox.Claim | None:
    with app.db.session() as session:
        claim = outbox.claim_next(app, session, app.clock.now())
        session.commit()
    return claim


def _hand_over(app: Caseroom, claim: outbox.Claim) -> bool:
    with app.db.session() as session:
        still_ours = outbox.hand_over(session, claim, app.clock.now())
        session.commit()
    return still_ours


def _settle(app: Caseroom, claim: outbox.Claim, result: Result) -> str:
    with app.db.session() as session:
        status = outbox.settle(session, claim, result, app.clock.now())
        session.commit()
    if result.outcome is not Outcome.SENT:
        log.warning("email %s: %s (%s)", claim.row.id, status, result.detail)
    return status


async def drain(
    app: Caseroom, stats: Stats | None = None, stop: asyncio.Event | None = None
) -> Stats:
    """Send everything due now, one at a time, until none is left or `stop` is set."""
    stats = stats or Stats()
    # One attempt must end well within the lease, or another worker would take a row
    # still in flight for lost.
    deadline = max(app.settings.mail_lease_seconds * 0.75, 0.5)
    sender = SmtpSender(parse_smtp_url(app.settings.smtp_url), deadline=deadline)
    try:
        while stop is None or not stop.is_set():
            claim = _claim(app)
            if claim is None:
                break
            try:
                envelope = build(claim.row, app.settings.mail_from)
            except (ValueError, TypeError) as exc:  # e.g. an address no header can hold
                stats.count(_settle(app, claim, Result(Outcome.DEAD, f"Cannot compose: {exc}")))
                continue
            try:
                result = await sender.send(
                    envelope.sender,
                    envelope.recipient,
                    envelope.data,
                    hand_over=functools.partial(_hand_over, app, claim),
                )
            except ConnectFailed as exc:
                # Nothing was transferred: try again later, and stop this round.
                stats.count(_settle(app, claim, Result(Outcome.RETRY, str(exc))))
                break
            stats.count(_settle(app, claim, result))
    finally:
        await sender.close()
    return stats


async def run_once(app: Caseroom) -> Stats:
    """One round of everything the worker does: leases, reminders, due digests, then
    drain the outbox."""
    stats = Stats()
    housekeeping(app, stats)
    return await drain(app, stats)


async def run_forever(app: Caseroom, interval: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started: mail via %s", parse_smtp_url(app.settings.smtp_url))
    last_schedule = -SCHEDULE_EVERY
    while not stop.is_set():
        stats = Stats()
        try:
            if time.monotonic() - last_schedule >= SCHEDULE_EVERY:
                housekeeping(app, stats)
                last_schedule = time.monotonic()
            else:
                expire_leases(app, stats)
            await drain(app, stats, stop)
        except Exception:  # a database or template failure must not end the worker
            log.exception("worker round failed; trying again in %.0f s", interval)
        if stats.sent or stats.retrying or stats.dead or stats.uncertain or stats.digests:
            log.info("%s", stats)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
    log.info("worker stopped")
