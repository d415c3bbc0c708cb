"""One SMTP connection (aiosmtplib) and what became of each message handed to it.

The outcome decides the row's fate, so it is classified with care:

- refused with 4xx, or the connection failed before the message was transferred:
  certainly not delivered, try again later (RETRY);
- refused with 5xx: it will never be accepted (DEAD);
- the connection broke or timed out while the message itself was being transferred: the
  server may have accepted it before the reply was lost (UNCERTAIN: never resent blindly).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from workspace.mail.smtp_url import SmtpConfig


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""


class ConnectFailed(Exception):
    """The server could not be reached, or refused us (TLS, authentication)."""


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]


def _by_code(code: int, exc: BaseException) -> Result:
    if 500 <= code < 600:
        return Result(Outcome.DEAD, _describe(exc))
    return Result(Outcome.RETRY, _describe(exc))


class SmtpSender:
    def __init__(self, config: SmtpConfig, deadline: float = 90.0) -> None:
        self.config = config
        self.deadline = deadline
        self._smtp: aiosmtplib.SMTP | None = None
        self._phase = "connect"

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            return None
        return ssl.create_default_context(cafile=self.config.cafile)

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self.config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.security == "tls",
            # Never opportunistic: either required and verified, or not at all.
            start_tls=config.security == "starttls",
            tls_context=self._tls_context(),
            timeout=config.timeout,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise ConnectFailed(_describe(exc)) from exc
        return smtp

    async def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        hand_over: Callable[[], bool] | None = None,
    ) -> Result:
        """Deliver one message; raises ConnectFailed when the server cannot be reached.

        `hand_over` is called once the server has taken the envelope, just before the
        message itself is sent (the outbox records that from then on the server may have
        it); if it returns False nothing is sent.

        The whole attempt is bounded by `deadline` (kept shorter than the outbox lease),
        so a worker never still holds a row that others already consider lost."""
        self._phase = "connect"
        try:
            async with asyncio.timeout(self.deadline):
                return await self._send(sender, recipient, data, hand_over)
        except TimeoutError as exc:
            self._drop()
            detail = f"no answer within {self.deadline:.0f} s ({self._phase})"
            if self._phase == "connect":
                raise ConnectFailed(detail) from exc
            return Result(Outcome.UNCERTAIN if self._phase == "data" else Outcome.RETRY, detail)

    async def _send(
        self, sender: str, recipient: str, data: bytes, hand_over: Callable[[], bool] | None
    ) -> Result:
        if self._smtp is None or not self._smtp.is_connected:
            self._smtp = await self._connect()
        smtp = self._smtp
        self._phase = "envelope"
        try:
            await smtp.mail(sender)
            await smtp.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return _by_code(exc.code, exc)
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Result(Outcome.RETRY, _describe(exc))
        if hand_over is not None and not hand_over():
            await self._reset()
            return Result(Outcome.RETRY, "Not handed over: this sender's claim had expired.")
        self._phase = "data"  # from here on, the server may have it
        try:
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return _by_code(exc.code, exc)  # the server answered: we know what happened
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            return Result(Outcome.UNCERTAIN, _describe(exc))
        self._phase = "done"
        return Result(Outcome.SENT)

    async def _reset(self) -> None:
        """After a refusal the envelope must be reset before the next message."""
        if self._smtp is None:
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self._smtp.quit()
        self._drop()
