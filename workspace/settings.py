"""Typed settings, read once from the environment (DESIGN.md §6, "Config")."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path


def _normalise_database_url(url: str) -> str:
    """Caseroom talks to PostgreSQL through psycopg 3 (sync, run off the event loop).

    DESIGN.md documents `postgresql+asyncpg://`; we accept any PostgreSQL spelling so
    deployments written against the design keep working.
    """
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url[len("sqlite+aiosqlite://") :]
    return url


# The shipped "Should I share?" guidance, beside the policy it goes with.
SHARING_GUIDANCE = Path(__file__).resolve().parents[1] / "policy" / "should_i_share.toml"


def _path(value: str | None) -> Path | None:
    return Path(value).resolve() if value else None


def _hours(value: str) -> tuple[int, int]:
    """"8-18": from 08:00 to 18:00."""
    start, _, end = value.partition("-")
    hours = (int(start), int(end))
    if not 0 <= hours[0] < hours[1] <= 24:
        raise ValueError(f"CASEROOM_WORKING_HOURS must read like 8-18, not {value!r}")
    return hours


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def served_base_url(host: str, port: int) -> str:
    """The address `caseroom serve --host H --port P` answers on, for links in email when
    CASEROOM_BASE_URL is unset. A wildcard bind (0.0.0.0, ::) has no name of its own, so
    links then say 127.0.0.1: set CASEROOM_BASE_URL when others reach it by another name."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (recognising one, not binding)
        host = DEFAULT_HOST
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None = None
    secret_key: str | None = None
    smtp_url: str = "smtp://127.0.0.1:1025"
    base_url: str = served_base_url(DEFAULT_HOST, DEFAULT_PORT)
    mail_from: str = "Caseroom <no-reply@caseroom.local>"
    # How long a claimed email may stay "sending" before it is presumed lost in a crash
    # (pending again if it was never handed to the server; else "uncertain", never resent
    # blindly).
    mail_lease_seconds: int = 120
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    max_body_bytes: int = 64 * 1024
    # The largest encrypted file (its ciphertext), enforced while the upload streams.
    max_file_bytes: int = 200 * 1024 * 1024
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # The audit signing key and the witness of the audit log (DESIGN.md §4) live in the
    # data dir unless pointed elsewhere (e.g. a volume the database host cannot reach).
    audit_signing_key_file: Path | None = None
    audit_witness_file: Path | None = None
    # Views outside these hours (UK time, start inclusive, end exclusive), or at a weekend,
    # are flagged for the manager's eye (issue #12).
    working_hours: tuple[int, int] = (8, 18)
    # The front door's target: a decision on each contact within this many working days
    # (issue #14; a local rule, commonly one).
    front_door_target_days: int = 1
    # "Should I share?" (issue #15): the questions and guidance, a file the IG lead edits.
    sharing_guidance: Path = SHARING_GUIDANCE
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def redis_prefix(self) -> str:
        """Keys and channels of one deployment (its database) on a shared Redis."""
        digest = hashlib.blake2b(self.database_url.encode(), digest_size=6).hexdigest()
        return f"caseroom:{digest}:"

    @property
    def audit_signing_key_path(self) -> Path:
        return self.audit_signing_key_file or self.data_dir / "audit-signing.key"

    @property
    def audit_witness_path(self) -> Path:
        return self.audit_witness_file or self.data_dir / "audit-witness.log"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CASEROOM_DATA_DIR", "./var")).resolve()
        default_db = f"sqlite:///{data_dir / 'caseroom.db'}"
        return cls(
            data_dir=data_dir,
            database_url=_normalise_database_url(env.get("CASEROOM_DATABASE_URL", default_db)),
            redis_url=env.get("CASEROOM_REDIS_URL") or None,
            secret_key=env.get("CASEROOM_SECRET_KEY") or None,
            smtp_url=env.get("CASEROOM_SMTP_URL", "smtp://127.0.0.1:1025"),
            base_url=env.get(
                "CASEROOM_BASE_URL", served_base_url(DEFAULT_HOST, DEFAULT_PORT)
            ).rstrip("/"),
            mail_from=env.get("CASEROOM_MAIL_FROM", "Caseroom <no-reply@caseroom.local>"),
            mail_lease_seconds=int(env.get("CASEROOM_MAIL_LEASE_SECONDS", "120")),
            front_door_target_days=int(env.get("CASEROOM_FRONT_DOOR_TARGET_DAYS", "1")),
            sharing_guidance=_path(env.get("CASEROOM_SHARING_GUIDANCE")) or SHARING_GUIDANCE,
            audit_signing_key_file=_path(env.get("CASEROOM_AUDIT_SIGNING_KEY_FILE")),
            audit_witness_file=_path(env.get("CASEROOM_AUDIT_WITNESS_FILE")),
            max_file_bytes=int(env.get("CASEROOM_MAX_FILE_BYTES", str(200 * 1024 * 1024))),
            working_hours=_hours(env.get("CASEROOM_WORKING_HOURS", "8-18")),
        )
