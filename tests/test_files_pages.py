"""The pages of end-to-end encrypted files (issue #10), without a browser: the room page
lists the newest files its reader may see — metadata only, since the names are encrypted —
in the markup the files script enhances; the room's files page lists them all, a page at a
time, with plain links; someone who may not see the room gets the room page's 404. Beside
each member, and on one's own account page, the key fingerprint people compare by phone
or in person, or that there are no keys yet."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import DAN, HANA, OMAR, PETE, SARAH, Tokens, user_by_email
from tests.test_chat_sockets import jamie
from tests.test_files import World
from tests.test_sign_in import sign_in
from workspace.app import create_app
from workspace.fileformat import plaintext_size
from workspace.models import AuditEvent, Organisation
from workspace.state import Caseroom
from workspace.templating import human_size


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    return jamie(client, auth)


@contextmanager
def signed_in(app: Caseroom, email: str, password: str) -> Iterator[TestClient]:
    with TestClient(create_app(caseroom=app), base_url="http://testserver") as client:
        sign_in(client, email, password)
        yield client


def page(app: Caseroom, email: str, password: str, path: str) -> str:
    with signed_in(app, email, password) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def attributes(tag: str) -> dict[str, str]:
    return dict(re.findall(r'([\w-]+)(?:="([^"]*)")?', tag))


def listed(page_text: str) -> dict[str, str]:
    """Each file item of a page (not the empty <template>), by id: its whole markup."""
    items = re.findall(
        r'<li class="file" (id="f-[^"]+" data-file-id="[^"]+".*?)</li>', page_text, re.S
    )
    return {attributes(item)["data-file-id"]: item for item in items}


def section(page_text: str) -> dict[str, str]:
    found = re.search(r"<section ([^>]*\bdata-files\b[^>]*)>", page_text)
    assert found, "no files section"
    return attributes(found.group(1))


def fingerprint_beside(page_text: str, user_id: str) -> str:
    found = re.search(rf'data-fingerprint-of="{user_id}"[^>]*>([^<]*)<', page_text)
    assert found, f"no fingerprint for {user_id}"
    return found.group(1)


# --- the room page ----------------------------------------------------------------------------


def test_the_room_page_lists_the_files_its_reader_may_see_not_anothers_restricted_one(
    world: World, room_id: str, app: Caseroom, password: str
) -> None:
    """Rule 2: Pete's (police) restricted file reaches only the police and the lead."""
    world(HANA)
    report = world.put(SARAH, room_id, b"Home visit notes", kind="opinion")
    secret = world.put(PETE, room_id, b"Police intelligence", sensitivity="restricted")
    sarah, hana = user_by_email(app, SARAH), user_by_email(app, HANA)

    seen_by_hana = page(app, HANA, password, f"/rooms/{room_id}")
    assert set(listed(seen_by_hana)) == {report}
    assert secret not in seen_by_hana
    item = listed(seen_by_hana)[report]
    data = attributes(item)
    expected = {
        "data-room-id": room_id, "data-kind": "opinion", "data-sensitivity": "room",
        "data-uploader-id": sarah.id, "data-stored": "yes", "data-is-mine": "no",
    }  # fmt: skip
    assert {k: data.get(k) for k in expected} == expected
    size = int(data["data-size"])  # of the ciphertext: a little more than the plaintext
    assert size > len(b"Home visit notes")
    assert data["data-sealed-key"] and data["data-encrypted-name"]  # Hana's own key
    with app.db.session() as session:
        council = session.get(Organisation, sarah.organisation_id)
    assert council is not None
    uploader = f"Sarah Okafor ({council.name})"
    # The size shown is the plaintext's: what Sarah shared.
    for shown in ("Encrypted file", "opinion", uploader, human_size(plaintext_size(size))):
        assert shown in html.unescape(item), shown
    assert re.search(r'class="tag tag--restricted file__restricted" hidden>', item)
    assert section(seen_by_hana) | {"data-files": ""} == {
        "class": "panel", "id": "files", "aria-labelledby": "files-heading", "data-files": "",
        "data-room-id": room_id, "data-me": hana.id, "data-my-org": hana.organisation_id,
        "data-may-upload": "yes", "data-is-lead": "no",
    }  # fmt: skip
    assert '<template id="file-template">' in seen_by_hana
    assert f'href="/rooms/{room_id}/files"' in seen_by_hana
    with app.db.session() as session:
        audited = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.actor_id) == hana.id, col(AuditEvent.action) == "list_files"
            )
        ).all()
    assert [e.outcome for e in audited] == ["allowed"]

    seen_by_sarah = page(app, SARAH, password, f"/rooms/{room_id}")
    assert set(listed(seen_by_sarah)) == {report, secret}
    restricted = listed(seen_by_sarah)[secret]
    assert 'data-sensitivity="restricted"' in restricted
    assert re.search(r'class="tag tag--restricted file__restricted">restricted<', restricted)
    assert 'data-is-mine="yes"' in listed(seen_by_sarah)[report]
    assert section(seen_by_sarah)["data-is-lead"] == "yes"


def test_a_room_without_files_says_so_and_offers_keys_and_sharing(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom, password: str
) -> None:
    room = page(app, DAN, password, f"/rooms/{room_id}")
    assert listed(room) == {}
    assert '<li class="hint files__empty">No files yet.</li>' in room
    for part in ('id="keys-panel"', 'id="file-upload"', 'id="file-share-template"'):
        assert room.count(part) == 1, part
    assert "turn on JavaScript to open or share them" in room


def test_a_closed_room_offers_no_upload_its_files_stay_listed(
    world: World, client: TestClient, auth: Tokens, room_id: str, app: Caseroom, password: str
) -> None:
    """Rule 6: closed rooms are read-only (the policy's `upload_file`, as the page reads it)."""
    report = world.put(SARAH, room_id, b"Home visit notes")
    assert section(page(app, DAN, password, f"/rooms/{room_id}"))["data-may-upload"] == "yes"
    closed = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert closed.status_code == 204, closed.text
    for path in (f"/rooms/{room_id}", f"/rooms/{room_id}/files"):
        shown = page(app, DAN, password, path)
        assert section(shown)["data-may-upload"] == "no"
        assert set(listed(shown)) == {report}


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1 KB"), (12 * 1024 + 100, "12 KB"),
     (1024 * 1024, "1.0 MB"), (5 * 1024 * 1024 + 512 * 1024, "5.5 MB")],
)  # fmt: skip
def test_sizes_read_as_bytes_kilobytes_or_megabytes_of_1024(size: int, shown: str) -> None:
    assert human_size(size) == shown


# --- the room's files page ----------------------------------------------------------------------


def test_the_files_page_pages_through_every_file_with_plain_links(
    world: World, room_id: str, app: Caseroom, password: str
) -> None:
    put = {world.put(SARAH, room_id, f"Report {n}".encode()) for n in range(3)}
    with signed_in(app, HANA, password) as hana:
        first = hana.get(f"/rooms/{room_id}/files?limit=2")
        assert first.status_code == 200
        reference = re.search(r"<title>Files — (\S+) – Caseroom</title>", first.text)
        assert reference and f'<a href="/rooms/{room_id}">{reference.group(1)}</a>' in first.text
        assert '<h1 id="files-heading">Files</h1>' in first.text
        assert section(first.text)["data-room-id"] == room_id
        older = re.search(r'<a href="([^"]+)">Older files</a>', first.text)
        assert older
        second = hana.get(older.group(1).replace("&amp;", "&"))
        assert second.status_code == 200
    assert len(listed(first.text)) == 2
    assert set(listed(first.text)) | set(listed(second.text)) == put
    assert "Older files" not in second.text
    assert f'<a href="/rooms/{room_id}/files">Newest files</a>' in second.text


def test_someone_who_may_not_see_the_room_gets_the_room_pages_404(
    world: World, room_id: str, app: Caseroom, password: str
) -> None:
    world.put(SARAH, room_id, b"Home visit notes")
    with signed_in(app, OMAR, password) as omar:
        room_page = omar.get(f"/rooms/{room_id}")
        files_page = omar.get(f"/rooms/{room_id}/files")
    assert room_page.status_code == files_page.status_code == 404
    assert files_page.text == room_page.text


# --- fingerprints -------------------------------------------------------------------------------


def test_fingerprints_show_beside_members_and_on_ones_own_account_page(
    world: World, room_id: str, app: Caseroom, password: str
) -> None:
    hana_keys = world(HANA).api.json("GET", "/me/keys")
    hana, dan = user_by_email(app, HANA), user_by_email(app, DAN)

    room = page(app, SARAH, password, f"/rooms/{room_id}")
    assert fingerprint_beside(room, hana.id) == hana_keys["fingerprint"]
    assert fingerprint_beside(room, dan.id) == "no keys yet"
    assert "compare it with them by phone or in person" in room

    account = page(app, HANA, password, "/account")
    assert '<h2 id="keys-heading">Encryption keys</h2>' in account
    assert fingerprint_beside(account, hana.id) == hana_keys["fingerprint"]
    assert f'data-me="{hana.id}"' in account
    assert account.count('id="keys-panel"') == 1
    assert "If you forget your passphrase, make new keys" in account

    nothing_yet = page(app, DAN, password, "/account")
    assert "You have not set up encryption keys yet" in nothing_yet
    assert "data-fingerprint-of" not in nothing_yet


# --- in a browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_files_markup_passes_axe_on_the_room_the_files_and_the_account_pages(
    visit: Open, world: World, room_id: str, password: str
) -> None:
    """axe-core checks every page a visitor opens (tests/browsing.py), with files listed,
    a restricted one among them, and keys set up."""
    world(HANA)
    world.put(SARAH, room_id, b"Home visit notes")
    world.put(SARAH, room_id, b"Strategy minutes", sensitivity="restricted")
    sarah = visit(SARAH, password)
    for path in (f"/rooms/{room_id}", f"/rooms/{room_id}/files", "/account"):
        page = sarah.go(path)
        sarah.wait_for_axe(page.url)
    expect(page.get_by_role("heading", name="Encryption keys")).to_be_visible()
    page = sarah.go(f"/rooms/{room_id}/files")
    expect(page.locator("#file-list .file")).to_have_count(2)
    expect(page.locator("#file-list .file__restricted:visible")).to_have_count(1)
