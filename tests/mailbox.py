"""A real SMTP server for tests: aiosmtpd, in this process, on a free 127.0.0.1 port,
keeping the raw bytes of every message it accepts. It can be stopped and started again on
the same port (an outage), refuse some recipients, and run a hook at DATA (to kill a
worker between the server's acceptance and the worker recording it)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    box: Mailbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.box.on_rcpt:
            self.box.on_rcpt(address)
        reply = self.box.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content)
        reply = self.box.on_data(raw) if self.box.on_data else None
        if reply and not reply.startswith("250"):
            return reply
        self.box.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw))
        return reply or "250 Message accepted for delivery"


@dataclass
class Tls:
    """A self-signed certificate for 127.0.0.1 (made with openssl) and its contexts."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, where: Path) -> Tls:
        cert, key = where / "smtp-cert.pem", where / "smtp-key.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return cls(cert, key)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


class _Controller(Controller):  # type: ignore[misc]
    def factory(self) -> Any:
        # aiosmtpd cannot tell that an implicit-TLS connection is encrypted, so AUTH there
        # is configured as "not requiring TLS", which it warns about: not a finding here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().factory()


@dataclass
class Mailbox:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    on_data: Callable[[bytes], str | None] | None = None
    # Run at RCPT, before the message itself is sent (to kill a worker before hand-over).
    on_rcpt: Callable[[str], None] | None = None
    # TLS and authentication, for the tests of CASEROOM_SMTP_URL's secure forms.
    tls: Tls | None = None
    implicit_tls: bool = False
    logins: dict[str, str] | None = None
    _controller: _Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.logins is not None
            and self.logins.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=ok)

    def start(self) -> Mailbox:
        options: dict[str, Any] = {}
        if self.tls and self.implicit_tls:
            options["ssl_context"] = self.tls.server_context()
        elif self.tls:
            options.update(tls_context=self.tls.server_context(), require_starttls=True)
        if self.logins is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
            if self.implicit_tls:
                options["auth_require_tls"] = False  # it is TLS, from the first byte
        self._controller = _Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- reading what arrived --------------------------------------------------------

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def with_message_id(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message["Message-ID"] == message_id]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived")
            time.sleep(0.02)
