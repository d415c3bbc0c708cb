"""CASEROOM_SMTP_URL, read once: where mail goes, and how securely.

    smtp://host:port                  plain SMTP (a relay on localhost or a private network)
    smtp+starttls://user:pass@host:587  STARTTLS is required, certificate verified
    smtps://user:pass@host:465        TLS from the first byte (implicit TLS)

`?cafile=/path/ca.pem` trusts a private CA; `?timeout=30` bounds each SMTP step (seconds).
Credentials are refused over plain SMTP: a password must never cross the wire in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

Security = Literal["none", "starttls", "tls"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


class MailConfigError(ValueError):
    """CASEROOM_SMTP_URL cannot be used as given."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "none"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 30.0

    def __str__(self) -> str:
        """For logs: never the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{self.security}:{who}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise MailConfigError(
            f"CASEROOM_SMTP_URL must start with one of {', '.join(s + '://' for s in _SCHEMES)}"
        )
    security, default_port = _SCHEMES[scheme]
    if not parts.hostname:
        raise MailConfigError("CASEROOM_SMTP_URL names no host.")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise MailConfigError("CASEROOM_SMTP_URL has an invalid port.") from exc
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and security == "none":
        raise MailConfigError(
            "CASEROOM_SMTP_URL carries credentials over plain SMTP; use smtps:// or "
            "smtp+starttls:// so the password is encrypted."
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"cafile", "timeout"}
    if unknown:
        raise MailConfigError(f"CASEROOM_SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise MailConfigError("CASEROOM_SMTP_URL: timeout must be a number of seconds.") from exc
    if not 0 < timeout <= 300:
        raise MailConfigError("CASEROOM_SMTP_URL: timeout must be between 0 and 300 seconds.")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        security=security,
        username=username,
        password=password,
        cafile=query.get("cafile") or None,
        timeout=timeout,
    )
