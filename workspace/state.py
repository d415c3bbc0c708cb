"""The running application's parts, built once per process and shared by pages, the API,
sockets, the worker and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from policy.authorizer import Authorizer, get_authorizer
from workspace.audit import AuditWriter
from workspace.audit_witness import Witness
from workspace.clock import Clock, clock
from workspace.crypto import Keys, load_secret, load_signing_key
from workspace.db import Database
from workspace.events import NoPublisher, Publisher
from workspace.settings import Settings


@dataclass
class Caseroom:
    settings: Settings
    db: Database
    keys: Keys
    authorizer: Authorizer
    audit: AuditWriter
    clock: Clock
    # Where committed changes are told to connected clients (realtime.server.Realtime).
    live: Publisher = field(default_factory=NoPublisher)

    @classmethod
    def build(cls, settings: Settings | None = None) -> Caseroom:
        settings = settings or Settings.from_env()
        keys = Keys(load_secret(settings), load_signing_key(settings))
        return cls(
            settings=settings,
            db=Database(settings),
            keys=keys,
            authorizer=get_authorizer(),
            audit=AuditWriter(keys, clock, Witness(settings.audit_witness_path)),
            clock=clock,
        )
