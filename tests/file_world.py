"""People sharing end-to-end encrypted files through the real Python client against a live
server (`world`): shared by every files test module, as a fixture of tests/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, Tokens, user_by_email
from workspace.client import files
from workspace.client.http import Api
from workspace.state import Caseroom

PASSPHRASE = "correct horse battery staple"
MARKER = b"MARKER-7f3a-the-medical-report-says"


@dataclass
class Person:
    email: str
    id: str
    api: Api
    key: files.KeyFile | None


class World:
    """People with API tokens and, unless told otherwise, published keys. Key files and
    plaintexts live outside the server's data dir (`outside`), as on their own machines."""

    def __init__(self, server: LiveServer, auth: Tokens, app: Caseroom, outside: Path) -> None:
        self.server, self.auth, self.app, self.outside = server, auth, app, outside
        self.people: dict[str, Person] = {}

    def __call__(self, email: str, keys: bool = True) -> Person:
        if email not in self.people:
            token = self.auth(email)["Authorization"].removeprefix("Bearer ")
            api = Api(self.server.url, token)
            self.people[email] = Person(email, user_by_email(self.app, email).id, api, None)
        person = self.people[email]
        if keys and person.key is None:
            person.key = self.publish(person)
        return person

    def publish(self, person: Person) -> files.KeyFile:
        path = self.outside / f"{person.email}.key"
        return files.keys_init(person.api, path, PASSPHRASE)

    def plaintext(self, name: str, content: bytes) -> Path:
        path = self.outside / name
        path.write_bytes(content)
        return path

    def put(self, email: str, room_id: str, content: bytes, **kw: Any) -> str:
        who = self(email)
        assert who.key is not None
        return files.put(who.api, room_id, self.plaintext("report.pdf", content), who.key, **kw)

    def put_photo(self, email: str, contact_id: str, content: bytes) -> str:
        who = self(email)
        assert who.key is not None
        path = self.plaintext("photo.jpg", content)
        return files.put_photo(who.api, contact_id, path, who.key)

    def get_photo(self, email: str, photo_id: str) -> bytes:
        who = self(email)
        assert who.key is not None
        out = self.outside / f"{email}-{photo_id}.out"
        files.get_photo(who.api, photo_id, who.key, out)
        return out.read_bytes()

    def get(self, email: str, file_id: str) -> bytes:
        who = self(email)
        assert who.key is not None
        out = self.outside / f"{email}-{file_id}.out"
        files.get(who.api, file_id, who.key, out)
        return out.read_bytes()


@pytest.fixture
def world(
    live_server: LiveServer, auth: Tokens, app: Caseroom, tmp_path_factory: pytest.TempPathFactory
) -> World:
    return World(live_server, auth, app, tmp_path_factory.mktemp("outside"))
