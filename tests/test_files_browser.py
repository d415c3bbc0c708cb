"""Encrypted files in the browser (issue #10), in Chromium under the strict CSP: people make
their keys in the page, Sarah shares a file from Jamie's room and Hana downloads the same
bytes; files made by the browser open with the Python client and the other way round;
nobody else learns the file exists; the server's disk holds no plaintext, no name and no
key; a changed byte is caught and reported; the key reaches people who made keys late, and
the lead's share with a newer member is a recorded decision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from tests.browsing import Open, Visitor
from tests.conftest import DAN, HANA, HOLLY, OMAR, PETE, SARAH, Tokens
from tests.mailing import add_member
from tests.test_files import MARKER, World, a_report, files_on_disk
from workspace import fileformat
from workspace.client import crypto, files
from workspace.client.crypto import KeyPair
from workspace.models import AuditEvent, SealedKey, SharingDecision
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

PASSPHRASE = "a long walk by the river"
FINGERPRINT = re.compile(r"^([0-9a-f]{4} ){9}[0-9a-f]{4}$")
# A 1 by 1 PNG: previews are for images and PDF only.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e5"
    "d60000000049454e44ae426082"
)


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where people keep their own files: not under the server's data dir."""
    return tmp_path_factory.mktemp("outside")


def open_room(visitor: Visitor, child: str = "Jamie Carter") -> Page:
    page = visitor.go("/")
    page.get_by_role("link", name=child).click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    return page


def make_keys(page: Page) -> str:
    panel = page.locator("#keys-panel")
    expect(panel.get_by_role("heading", name="Set up your encryption keys")).to_be_visible()
    panel.get_by_label("Choose a passphrase").fill(PASSPHRASE)
    panel.get_by_label("The same passphrase again").fill(PASSPHRASE)
    panel.get_by_role("button", name="Make my keys").click()
    fingerprint = panel.locator("[data-keys-fingerprint]")
    expect(fingerprint).to_have_text(FINGERPRINT, timeout=15_000)
    return fingerprint.inner_text()


def share(
    page: Page, path: Path, *, kind: str = "fact", restricted: bool = False, drop: bool = False
) -> None:
    form = page.locator("#file-upload")
    if drop:  # dragged from the desktop onto the box
        transfer = page.evaluate_handle(
            """([name, bytes]) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(bytes)], name));
                return transfer;
            }""",
            [path.name, list(path.read_bytes())],
        )
        form.locator("[data-dropzone]").dispatch_event("dragover", {"dataTransfer": transfer})
        expect(form.locator("[data-dropzone]")).to_have_class(re.compile("dropzone--over"))
        form.locator("[data-dropzone]").dispatch_event("drop", {"dataTransfer": transfer})
        expect(form.locator("[data-file-chosen]")).to_contain_text(path.name)
    else:
        form.get_by_label("Choose a file to share").set_input_files(str(path))
    form.get_by_label("This file is a").select_option(kind)
    form.get_by_label("Who sees the file").select_option("restricted" if restricted else "room")
    form.get_by_role("button", name="Encrypt and share").click()
    expect(form.locator("[data-upload-status]")).to_contain_text(
        f"Shared {path.name}, encrypted", timeout=20_000
    )


def listed(page: Page, name: str) -> object:
    return page.locator("#file-list li.file", has_text=name)


def download(page: Page, name: str) -> bytes:
    item = page.locator("#file-list li.file", has_text=name)
    with page.expect_download() as caught:
        item.get_by_role("button", name=f"Download {name}").click()
    got = caught.value
    assert got.suggested_filename == name
    return Path(got.path()).read_bytes()


def plaintext(outside: Path, name: str, content: bytes) -> Path:
    path = outside / name
    path.write_bytes(content)
    return path


def keys_in(page: Page) -> KeyPair:
    """The keys unlocked in this tab (to check what the server could not have)."""
    saved = json.loads(page.evaluate("sessionStorage.getItem('caseroom.keys')"))
    return KeyPair(fileformat.unb64(saved["box_secret"]), fileformat.unb64(saved["sign_seed"]))


def file_id_of(page: Page, name: str) -> str:
    return str(page.locator("#file-list li.file", has_text=name).get_attribute("data-file-id"))


def test_sarah_shares_in_her_browser_hana_downloads_the_same_bytes_omar_learns_nothing(
    visit: Open, password: str, app: Caseroom, outside: Path
) -> None:
    sarah, hana, omar = visit(SARAH, password), visit(HANA, password), visit(OMAR, password)
    s, h = open_room(sarah), open_room(hana)
    sarahs_fingerprint = make_keys(s)
    make_keys(h)
    # Sarah's fingerprint is the one beside her name on Hana's page (after a reload).
    h.reload()
    expect(h.locator(f"[data-fingerprint-of] >> text={sarahs_fingerprint}")).to_have_count(1)

    original = a_report(300_000)
    name = "jamie-clinic-letter-7f3a.pdf"
    share(s, plaintext(outside, name, original))
    # Live on Hana's page: in Files with its name (decrypted there), and in the timeline.
    expect(listed(h, name)).to_have_count(1, timeout=5_000)
    expect(h.locator("#message-list .timeline-file")).to_contain_text("Sarah Okafor")
    assert download(h, name) == original
    expect(listed(h, name).locator("[data-file-status]")).to_contain_text("verified")

    # On another computer Hana unlocks her keys with her passphrase and opens it there too.
    laptop = visit(HANA, password)
    elsewhere = open_room(laptop)
    panel = elsewhere.locator("#keys-panel")
    panel.get_by_label("Encryption passphrase").fill("not my passphrase")
    panel.get_by_role("button", name="Unlock").click()
    expect(panel.locator("[data-keys-error]")).to_have_text(
        "That passphrase does not open your keys."
    )
    panel.get_by_label("Encryption passphrase").fill(PASSPHRASE)
    panel.get_by_role("button", name="Unlock").click()
    assert download(elsewhere, name) == original

    file_id = file_id_of(h, name)
    for path in (f"/api/v1/files/{file_id}", f"/api/v1/files/{file_id}/content"):
        assert omar.context.request.get(sarah.base + path).status == 404

    # Nothing readable on the server's disk: not the marker, the name or any key.
    sealed = h.evaluate(
        "async (id) => (await (await fetch('/api/v1/files/' + id)).json()).sealed_key", file_id
    )
    hanas = keys_in(h)
    file_key = crypto.open_key(hanas, sealed)
    secrets = {
        "marker": MARKER,
        "file name": name.encode(),
        "file key": file_key,
        "file key (base64)": fileformat.b64(file_key).encode(),
        "file key (hex)": file_key.hex().encode(),
        "Hana's private key": hanas.box_secret,
        "Hana's private key (base64)": fileformat.b64(hanas.box_secret).encode(),
        "passphrase": PASSPHRASE.encode(),
    }
    app.db.dispose()
    found = {
        (what, str(path.relative_to(app.settings.data_dir)))
        for path in app.settings.data_dir.rglob("*") if path.is_file()
        for what, needle in secrets.items() if needle in path.read_bytes()
    }  # fmt: skip
    assert found == set()
    assert len(files_on_disk(app.settings.data_dir)) == 1


def give_to_the_waiting(page: Page, name: str, who: str) -> None:
    item = listed(page, name)
    item.get_by_role("button", name=re.compile("Share with 1 waiting")).click()
    expect(item.locator("[data-file-status]")).to_contain_text(f"Shared with {who}")


def test_a_restricted_file_is_invisible_to_another_organisation(
    visit: Open, password: str, outside: Path
) -> None:
    hana, sarah, pete = visit(HANA, password), visit(SARAH, password), visit(PETE, password)
    h, s, p = open_room(hana), open_room(sarah), open_room(pete)
    for page in (h, s, p):
        make_keys(page)
    name = "health-visitor-notes.pdf"
    share(
        h, plaintext(outside, name, b"restricted to health " + MARKER), restricted=True, drop=True
    )
    # The lead sees it live; the police officer sees nothing, live or after a reload.
    expect(listed(s, name)).to_have_count(1)
    expect(listed(s, name).locator(".file__restricted")).to_be_visible()
    file_id = file_id_of(s, name)
    p.wait_for_timeout(500)
    p.reload()
    expect(p.locator("#file-list li.file")).to_have_count(0)
    expect(p.locator("#message-list .timeline-file")).to_have_count(0)
    assert pete.context.request.get(f"{pete.base}/api/v1/files/{file_id}").status == 404


def test_the_browser_and_the_python_client_read_each_others_files(
    visit: Open,
    password: str,
    world: World,
    outside: Path,
) -> None:
    dan = world(DAN)  # Python client, keys published before anyone shares
    sarah = visit(SARAH, password)
    s = open_room(sarah)
    make_keys(s)
    room_id = str(s.locator("#files").get_attribute("data-room-id"))

    # Browser → Python: Sarah shares from the page; Dan's system gets the same bytes.
    original = a_report(150_000)
    share(s, plaintext(outside, "from-the-browser.bin", original))
    file_id = file_id_of(s, "from-the-browser.bin")
    assert world.get(DAN, file_id) == original
    assert dan.key is not None
    meta = dan.api.json("GET", f"/files/{file_id}")
    key = crypto.open_key(dan.key.keys, meta["sealed_key"])
    assert crypto.decrypt_name(key, meta["encrypted_name"], room_id, file_id) == (
        "from-the-browser.bin", "application/octet-stream",
    )  # fmt: skip

    # Python → browser: Dan's system shares a PNG; Sarah downloads it and previews it.
    png = world.plaintext("bruise-photo.png", PNG)
    files.put(dan.api, room_id, png, dan.key)
    expect(listed(s, "bruise-photo.png")).to_have_count(1)
    assert download(s, "bruise-photo.png") == PNG
    item = listed(s, "bruise-photo.png")
    item.get_by_role("button", name="Preview bruise-photo.png").click()
    image = item.locator("[data-file-preview] img")
    expect(image).to_have_attribute("alt", "bruise-photo.png")
    s.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=image.element_handle())


def test_a_changed_byte_on_the_servers_disk_is_caught_in_the_browser_and_reported(
    visit: Open, password: str, app: Caseroom, outside: Path
) -> None:
    sarah = visit(SARAH, password)
    s = open_room(sarah)
    make_keys(s)
    share(s, plaintext(outside, "minutes.txt", a_report(200_000)))
    [stored] = files_on_disk(app.settings.data_dir)
    data = bytearray(stored.read_bytes())
    data[100_000] ^= 0x01
    stored.write_bytes(bytes(data))
    saved: list[object] = []
    s.on("download", lambda d: saved.append(d))
    item = listed(s, "minutes.txt")
    item.get_by_role("button", name="Download minutes.txt").click()
    expect(item.locator("[data-file-status]")).to_contain_text(
        "failed its integrity check and was not opened"
    )
    assert saved == []  # nothing half-checked was handed to the person
    with app.db.session() as session:
        reported = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "file_verification_failed")
        ).all()
    assert len(reported) == 1 and "chunk failed authentication" in str(reported[0].purpose)


def test_keys_made_late_or_anew_and_the_leads_share_with_a_newer_member(
    visit: Open, password: str, app: Caseroom, client: object, auth: Tokens, outside: Path
) -> None:
    sarah, dan = visit(SARAH, password), visit(DAN, password)
    s, d = open_room(sarah), open_room(dan)
    make_keys(s)
    # Dan has no keys yet: he is told who is waiting, and he cannot open it.
    share(s, plaintext(outside, "attendance.csv", b"attendance 71%\n"))
    expect(s.locator("#file-upload [data-upload-status]")).to_contain_text(
        "Dan Hughes, Hana Kowalski have not set up encryption keys yet"
    )
    make_keys(d)
    expect(listed(d, "Encrypted file").locator("[data-file-status]")).to_contain_text(
        "You hold no key to this file yet"
    )
    # Sarah is offered to give Dan the key (no decision: he was entitled at upload).
    s.reload()
    give_to_the_waiting(s, "attendance.csv", "Dan Hughes")
    d.reload()
    assert download(d, "attendance.csv") == b"attendance 71%\n"

    # On another computer Dan has forgotten his passphrase: he makes new keys; the room
    # is told, and Sarah is offered to give him the file again.
    elsewhere = visit(DAN, password)
    e = open_room(elsewhere)
    panel = e.locator("#keys-panel")
    panel.get_by_text("Forgotten your passphrase?").click()
    panel.get_by_label("A new passphrase").fill("another long walk by the sea")
    panel.get_by_label("The new passphrase again").fill("another long walk by the sea")
    panel.get_by_role("button", name="Make new keys").click()
    expect(panel.locator("[data-keys-status]")).to_contain_text("told your keys changed")
    expect(listed(e, "Encrypted file").locator("[data-file-status]")).to_contain_text(
        "You hold no key to this file yet"
    )
    s.reload()
    give_to_the_waiting(s, "attendance.csv", "Dan Hughes")
    e.reload()
    assert download(e, "attendance.csv") == b"attendance 71%\n"

    # Holly joins later: only the lead's recorded decision gives her the earlier file.
    add_member(client, auth, str(s.locator("#files").get_attribute("data-room-id")), HOLLY)  # type: ignore[arg-type]
    holly = visit(HOLLY, password)
    make_keys(open_room(holly))
    s.reload()
    item = listed(s, "attendance.csv")
    item.get_by_role("button", name=re.compile("Share with someone who joined later")).click()
    holly_option = item.locator("select option", has_text="Holly Brennan")
    item.get_by_label("Share with").select_option(holly_option.get_attribute("value"))
    item.get_by_label("Purpose of sharing").fill("Housing needs the attendance pattern")
    item.get_by_role("button", name="Share the file").click()
    expect(item.locator("[data-file-status]")).to_contain_text("Shared with Holly")
    with app.db.session() as session:
        decisions = session.exec(
            select(SharingDecision).where(col(SharingDecision.purpose).contains("attendance"))
        ).all()
        holly_keys = session.exec(select(SealedKey)).all()
    assert len(decisions) == 1
    assert len(holly_keys) == 3  # Sarah's, Dan's (new keys) and Holly's
    h = holly.go(f"/rooms/{s.locator('#files').get_attribute('data-room-id')}")
    assert download(h, "attendance.csv") == b"attendance 71%\n"
