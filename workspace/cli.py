"""The `caseroom` command (DESIGN.md §6, "Commands")."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from workspace.errors import CaseroomError

if TYPE_CHECKING:
    from workspace.events import LiveEvent
    from workspace.state import Caseroom

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _app() -> Iterator[Caseroom]:
    """The application for one command; its connections are closed when the command ends."""
    from workspace.state import Caseroom

    app = Caseroom.build()
    try:
        yield app
    finally:
        app.db.dispose()


def _read_password() -> str:
    """The first line of stdin; a person at a terminal is prompted without echo."""
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def migrate(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def cmd_init(_args: argparse.Namespace) -> int:
    from workspace.audit_guard import restore_triggers
    from workspace.audit_witness import Witness
    from workspace.crypto import ensure_secret, ensure_signing_key
    from workspace.db import make_engine
    from workspace.settings import Settings

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_secret(settings)
    ensure_signing_key(settings)
    Witness(settings.audit_witness_path).ensure()
    migrate(settings.database_url)
    # A trigger dropped since (by hand, or by a restore that lost it) is put back: the
    # audit tables are append-only whatever happened to the database.
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            restored = restore_triggers(conn)
    finally:
        engine.dispose()
    if restored:
        print(f"Restored the audit log's append-only trigger(s): {', '.join(restored)}.")
    print(
        f"Caseroom is ready: database migrated, secret key, audit signing key and audit "
        f"witness in place ({settings.data_dir})."
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from workspace.asgi import UVICORN_OPTIONS
    from workspace.settings import served_base_url

    # Links in email point where this server answers unless the operator says otherwise
    # (the app reads its settings from the environment, in every worker process).
    if not os.environ.get("CASEROOM_BASE_URL"):
        os.environ["CASEROOM_BASE_URL"] = served_base_url(args.host, args.port)

    uvicorn.run(
        "workspace.asgi:create_asgi",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        **UVICORN_OPTIONS,
    )
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    from workspace.services import demo

    with _app() as app:
        created = demo.seed(app)
        print("Demo data created." if created else "Demo data was already there.")
        print(demo.credentials_text(app))
    return 0


def cmd_org_add(args: argparse.Namespace) -> int:
    from workspace.access import Access, Origin, Target
    from workspace.services import accounts

    with _app() as app, app.db.session() as session:
        org = accounts.add_organisation(session, args.name, args.kind, app.clock.now())
        # A write like any other (DESIGN.md §4): audited, in the same transaction.
        Access(app, session, None, Origin("cli")).record(
            "organisation_created", Target("organisation", org.id)
        )
        session.commit()
        print(f"Organisation {org.name} ({org.kind}) added: {org.id}")
    return 0


def cmd_org_front_door(args: argparse.Namespace) -> int:
    from workspace.access import Access, Origin
    from workspace.services import accounts

    with _app() as app, app.db.session() as session:
        cli = Access(app, session, None, Origin("cli"))
        team = accounts.set_front_door(cli, args.name, args.team)
        session.commit()
        print(f"{args.name}'s front door is the team {team.name}: its members triage contacts.")
    return 0


def cmd_org_sso(args: argparse.Namespace) -> int:
    from workspace.access import Access, Origin
    from workspace.services import sso

    with _app() as app, app.db.session() as session:
        cli = Access(app, session, None, Origin("cli"))
        config = sso.configure(
            cli, args.name, issuer=args.issuer, client_id=args.client_id,
            client_secret_env=args.client_secret_env, client_secret_file=args.client_secret_file,
            domains=args.domains, sso_only=args.sso_only,
        )  # fmt: skip
        session.commit()
        print(f"{args.name} signs in through {config.issuer} for {config.domains}"
              + (" (passwords off)" if config.sso_only else ""))  # fmt: skip
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from workspace.access import Access, Origin
    from workspace.services import accounts

    password = _read_password()
    with _app() as app, app.db.session() as session:
        access = Access(app, session, None, Origin("cli"))
        user = accounts.add_user(
            access,
            email=args.email,
            org_name=args.org,
            role=args.role,
            name=args.name,
            password=password,
            team_name=args.team,
        )
        session.commit()
        print(f"User {user.email} added: {user.id}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, disabled=True)


def cmd_user_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, disabled=False)


def _set_disabled(args: argparse.Namespace, *, disabled: bool) -> int:
    """Disabling ends the account's sessions and API tokens (accounts.set_disabled), like
    the administrators' page; the operator at the command line is the one who decides."""
    from workspace.access import Access, Origin
    from workspace.errors import NotFound
    from workspace.models import User
    from workspace.services import accounts

    with _app() as app, app.db.session() as session:
        user = session.exec(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            raise NotFound(f"No user with email {args.email}.")
        access = Access(app, session, None, Origin("cli"))
        accounts.set_disabled(access, user, disabled=disabled, reason=args.reason)
        session.commit()
        _tell_servers(app, access.events)
    print(f"{user.email} is {'disabled' if disabled else 'enabled'}.")
    return 0


def _tell_servers(app: Caseroom, events: list[LiveEvent]) -> None:
    """Running servers close the sockets of credentials ended here, as for an act in the
    app (realtime/server.py reads these control messages), when they share Redis; a lone
    server without Redis finds out at each socket's next event."""
    from workspace.events import CredentialEnded

    ended = [e for e in events if isinstance(e, CredentialEnded)]
    if not ended or not app.settings.redis_url:
        return
    import redis

    client = redis.from_url(app.settings.redis_url)
    try:
        for event in ended:
            message = {"credential": event.digest, "reason": event.reason}
            client.publish(f"{app.settings.redis_prefix}control", json.dumps(message))
    finally:
        client.close()


def cmd_token_create(args: argparse.Namespace) -> int:
    from workspace.access import Access, Origin
    from workspace.errors import NotFound
    from workspace.models import User
    from workspace.services import accounts

    with _app() as app, app.db.session() as session:
        user = session.exec(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            raise NotFound(f"No user with email {args.email}.")
        access = Access(app, session, user, Origin("cli"))
        token = accounts.create_token(access, user, args.name, args.days)
        session.commit()
    lasts = f"expires in {args.days} days" if args.days else "lasts until revoked"
    print(f"API token for {args.email} ({lasts}; shown once; send as Authorization: Bearer …):")
    print(token)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from workspace import audit
    from workspace.audit_witness import Witness
    from workspace.errors import Invalid

    copies = [Witness(Path(name)) for name in args.witness]
    for copy in copies:
        if not copy.path.is_file():
            raise Invalid(f"No witness file {copy.path}.")
    with _app() as app, app.db.read_only_session() as session:
        result = audit.verify(session, app.keys, app.audit.witness, copies=copies)
        witness = app.audit.witness.path
    kinds = {"signing": "audit signing key", "legacy": "legacy, derived from the server secret"}
    signed = "; ".join(
        f"key {key_id} ({kinds[use.kind]}): {use.checkpoints} checkpoint(s), "
        f"{use.witness_lines} witness line(s)"
        for key_id, use in result.keys.items()
    )
    seen = (
        f"no witness file at {witness}"
        if result.witness_lines is None
        else f"{result.witness_lines} witness line(s) in {witness}"
    )
    if result.ok:
        print(f"Audit chain intact: {result.checked} records verified.")
        print(f"Signed by {signed or 'no key yet'}; {seen}.")
        return 0
    where = (
        "the chain head" if result.first_bad_seq is None else f"record seq {result.first_bad_seq}"
    )
    if result.first_bad:
        where += f" (id {result.first_bad})"
    print(
        f"Audit chain BROKEN at {where}: {result.reason}. {result.checked} records verified "
        "before it.",
        file=sys.stderr,
    )
    for problem in result.problems[1:]:
        print(f"Also: {problem}.", file=sys.stderr)
    print(f"Signed by {signed or 'no key'}; {seen}.", file=sys.stderr)
    return 1


def cmd_audit_public_key(_args: argparse.Namespace) -> int:
    from workspace.crypto import Keys, load_secret, load_signing_key
    from workspace.settings import Settings

    settings = Settings.from_env()
    keys = Keys(load_secret(settings), load_signing_key(settings))
    # The first line alone, for scripts; publish it where the IG leads can check a signed
    # head against it without trusting this server.
    print(keys.public_key)
    print(
        f"Ed25519 public key of the audit signing key {keys.signing_key_id} "
        f"({settings.audit_signing_key_path}). Checkpoints signed before it existed carry "
        f"the legacy key id {keys.legacy_signing_key_id}."
    )
    return 0


def cmd_audit_checkpoint(_args: argparse.Namespace) -> int:
    with _app() as app, app.db.session() as session:
        cp = app.audit.checkpoint(session)
        session.commit()
    print(f"Signed checkpoint at record {cp.seq}." if cp else "The audit log is empty.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from workspace.mail import worker
    from workspace.mail.smtp_url import MailConfigError, parse_smtp_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _app() as app:
        try:
            parse_smtp_url(app.settings.smtp_url)
        except MailConfigError as exc:
            print(f"caseroom: {exc}", file=sys.stderr)
            return 2
        if args.once:
            stats = asyncio.run(worker.run_once(app))
            print(f"Outbox drained once: {stats}.")
        else:
            asyncio.run(worker.run_forever(app, interval=args.interval))
    return 0


def cmd_digest_send(args: argparse.Namespace) -> int:
    from workspace.services import digests

    with _app() as app:
        run = digests.send_digests(app, force=args.now)
    print(
        f"{run.written} digest(s) written to the outbox; {run.quiet} person(s) had nothing "
        "new. `caseroom worker` sends them."
    )
    if run.failed:
        print(f"caseroom: {run.failed} digest(s) failed; see the log above.", file=sys.stderr)
        return 1
    return 0


def cmd_files_sweep(_args: argparse.Namespace) -> int:
    from workspace.services.files import sweep

    with _app() as app:
        swept = sweep.sweep(app)
    print(
        f"{swept.declarations} abandoned upload(s) deleted with their sealed keys (declared "
        f"over {sweep.ABANDONED_AFTER.total_seconds() / 3600:.0f} h ago, content never "
        f"sent); {swept.temporary_files} stray temporary file(s) removed."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from workspace.models.organisation import ORG_KINDS
    from workspace.models.user import ORG_ROLES
    from workspace.services.accounts import TOKEN_LIFETIMES
    from workspace.settings import DEFAULT_HOST, DEFAULT_PORT

    parser = argparse.ArgumentParser(prog="caseroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help_: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_)
        p.set_defaults(fn=fn)
        return p

    add(
        "init",
        cmd_init,
        "Migrate the database, create the keys and the audit witness, restore the audit "
        "log's append-only triggers.",
    )
    serve = add("serve", cmd_serve, "Serve the web app, API and sockets.")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1)
    add("demo", cmd_demo, "Seed demo organisations, people and rooms (prints the logins).")

    org = add("org", lambda _a: 2, "Organisations.").add_subparsers(
        dest="org_command", required=True
    )
    org_add = add("add", cmd_org_add, "Add an organisation.", org)
    org_add.add_argument("name")
    org_add.add_argument("--kind", required=True, choices=ORG_KINDS)
    front = add(
        "front-door",
        cmd_org_front_door,
        "Make a team of a local authority its front door (MASH): it triages contacts.",
        org,
    )
    front.add_argument("name")
    front.add_argument("--team", required=True)
    org_sso = add(
        "sso",
        cmd_org_sso,
        "Sign the organisation's people in through its OpenID Connect provider.",
        org,
    )
    org_sso.add_argument("name")
    org_sso.add_argument("--issuer", required=True, help="the provider's issuer URL")
    org_sso.add_argument("--client-id", required=True)
    secret = org_sso.add_mutually_exclusive_group(required=True)
    secret.add_argument("--client-secret-env", help="environment variable holding the secret")
    secret.add_argument("--client-secret-file", help="file holding the secret")
    org_sso.add_argument(
        "--domains", required=True, help="email domains it vouches for, comma separated"
    )
    org_sso.add_argument(
        "--sso-only", action="store_true", help="passwords off for the organisation's users"
    )

    user = add("user", lambda _a: 2, "Users.").add_subparsers(dest="user_command", required=True)
    user_add = add("add", cmd_user_add, "Add a user; the password is read from stdin.", user)
    user_add.add_argument("email")
    user_add.add_argument("--org", required=True)
    user_add.add_argument("--team")
    user_add.add_argument("--role", required=True, choices=ORG_ROLES)
    user_add.add_argument("--name", required=True)

    token = add("token", lambda _a: 2, "API tokens.").add_subparsers(
        dest="token_command", required=True
    )
    token_create = add("create", cmd_token_create, "Create an API token for a user.", token)
    token_create.add_argument("email")
    token_create.add_argument("--name", default="cli")
    token_create.add_argument(
        "--days", type=int, choices=TOKEN_LIFETIMES, help="expires after (default: never)"
    )
    for name, fn, help_ in (
        ("disable", cmd_user_disable, "Disable a user: ends their sessions and API tokens."),
        ("enable", cmd_user_enable, "Enable a disabled user again."),
    ):
        command = add(name, fn, help_, user)
        command.add_argument("email")
        command.add_argument("--reason", default="by an operator with the caseroom command")

    audit_cmd = add("audit", lambda _a: 2, "The audit log.").add_subparsers(
        dest="audit_command", required=True
    )
    audit_verify = add(
        "verify",
        cmd_audit_verify,
        "Recompute the hash chain, compare it with the witness; name what is wrong.",
        audit_cmd,
    )
    audit_verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="FILE",
        help="also compare with the signed heads in FILE (lines from the IG leads' emails)",
    )
    add(
        "checkpoint",
        cmd_audit_checkpoint,
        "Write a signed checkpoint of the chain head (to the database and the witness).",
        audit_cmd,
    )
    add(
        "public-key",
        cmd_audit_public_key,
        "Print the public half of the audit signing key (hex), to publish.",
        audit_cmd,
    )

    worker = add(
        "worker",
        cmd_worker,
        "Send the mail outbox, due digests and reminders; sign the audit head; sweep "
        "abandoned uploads.",
    )
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.add_argument(
        "--interval", type=float, default=5.0, help="seconds between rounds (default 5)"
    )
    digest_cmd = add("digest", lambda _a: 2, "Email digests.").add_subparsers(
        dest="digest_command", required=True
    )
    digest_send = add(
        "send", cmd_digest_send, "Write the digests that are due to the outbox.", digest_cmd
    )
    digest_send.add_argument(
        "--now",
        action="store_true",
        help="everyone whose digest is on, whatever their schedule",
    )
    from workspace.client.commands import add_commands

    files = add_commands(add)
    add(
        "sweep",
        cmd_files_sweep,
        "(server) Delete uploads declared over a day ago whose content never came, with "
        "their sealed keys (audited), and stray temporary files of the file store.",
        files,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.fn(args)
    except CaseroomError as exc:
        print(f"caseroom: {exc.message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
