"""Photos on a concern (issue #14 item 2): encrypted on the reporter's device with the file
format, to whoever may read the concern, and following the concern where the front door
sends it. Through the real Python client against a live server, as a partner's system or
the browser would: the server never holds a photo's plaintext or key.

Dan (the school's DSL) raises a concern about a child with no room, with a photo: Fay, the
council's front door, opens it; nobody else can, not even Dan afterwards. Holly (housing,
in no room) raises one about Jamie with a photo: Fay attaches it to Jamie's room and passes
the key to its lead, Sarah, who passes it to the room's people. A concern straight into the
room is sealed to the room's readers.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import DAN, FAY, HANA, HOLLY, OMAR, SARAH, Tokens
from tests.file_world import MARKER, World
from tests.test_front_door import raise_
from tests.test_sign_in import sign_in
from workspace import fileformat
from workspace.app import create_app
from workspace.client import crypto, files
from workspace.client.http import ApiError
from workspace.models import AuditEvent, ContactPhotoKey
from workspace.state import Caseroom

PHOTO = b"\xff\xd8\xff\xe0JFIF " + MARKER + b" bruise on the left forearm" + bytes(2000)
JAMIE = {"name": "Jamie", "nhs_number": "9434765919"}


def contact_of(client: TestClient, auth: Tokens, contact_id: str) -> dict[str, Any]:
    got = client.get(f"/api/v1/front-door/{contact_id}", headers=auth(FAY))
    assert got.status_code == 200, got.text
    return dict(got.json())


def nothing_plain_on_disk(app: Caseroom) -> None:
    for path in Path(app.settings.data_dir).rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_bytes(), path


def test_a_photo_at_the_front_door_is_opened_there_and_nowhere_else(
    world: World, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    world(FAY)  # the front door has keys
    receipt = raise_(client, auth, DAN)
    assert receipt["went_to"] == "front_door"
    photo_id = world.put_photo(DAN, receipt["contact_id"], PHOTO)

    [listed] = contact_of(client, auth, receipt["contact_id"])["photos"]
    assert listed["id"] == photo_id and listed["scope_id"] == receipt["contact_id"]
    assert world.get_photo(FAY, photo_id) == PHOTO
    nothing_plain_on_disk(app)
    # The reporter's own key only lets the manifest name them: the concern is the front
    # door's now. Nobody else learns the photo exists.
    for outsider in (DAN, SARAH, OMAR, HANA):
        got = client.get(f"/api/v1/photos/{photo_id}", headers=auth(outsider))
        assert got.status_code == 404, (outsider, got.text)
        got = client.get(f"/api/v1/photos/{photo_id}/content", headers=auth(outsider))
        assert got.status_code == 404, (outsider, got.text)
    with app.db.session() as session:
        seen = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "download_photo", AuditEvent.resource_id == photo_id
            )
        ).all()
    assert [e.outcome for e in seen].count("allowed") == 1
    assert [e.outcome for e in seen].count("denied") == 4


def test_photos_follow_a_concern_attached_to_the_childs_room_through_its_lead(
    world: World, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    for person in (FAY, SARAH, HANA):
        world(person)
    receipt = raise_(client, auth, HOLLY, child=JAMIE)
    photo_id = world.put_photo(HOLLY, receipt["contact_id"], PHOTO)
    decided = client.post(
        f"/api/v1/front-door/{receipt['contact_id']}/decision",
        json={"decision": "attach"},
        headers=auth(FAY),
    )
    assert decided.status_code == 200, decided.text

    # Sarah may see it now (the concern is an item of her room) but holds no key; the
    # front door may pass it to her, the lead, and to nobody else in a room it cannot see.
    mine = client.get(f"/api/v1/photos/{photo_id}", headers=auth(SARAH)).json()
    assert mine["sealed_key"] is None
    fays = client.get(f"/api/v1/photos/{photo_id}", headers=auth(FAY)).json()
    assert [o["user"]["email"] for o in fays["offer_to_wrap"]] == [SARAH]
    hana_id = world(HANA).id
    refused = client.post(
        f"/api/v1/photos/{photo_id}/keys",
        json={"keys": [{"user_id": hana_id, "sealed_key": fays["sealed_key"]}]},
        headers=auth(FAY),
    )
    assert refused.status_code == 422, refused.text

    fay = world(FAY)
    assert fay.key is not None
    files.share_photo(fay.api, photo_id, fay.key, world(SARAH).id)
    assert world.get_photo(SARAH, photo_id) == PHOTO
    # Sarah, in the room, passes it on to its people.
    offers = client.get(f"/api/v1/photos/{photo_id}", headers=auth(SARAH)).json()["offer_to_wrap"]
    assert HANA in [o["user"]["email"] for o in offers]
    sarah = world(SARAH)
    assert sarah.key is not None
    files.share_photo(sarah.api, photo_id, sarah.key, hana_id)
    assert world.get_photo(HANA, photo_id) == PHOTO
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth(OMAR)).status_code == 404
    with app.db.session() as session:
        wrapped = session.exec(
            select(ContactPhotoKey).where(ContactPhotoKey.photo_id == photo_id)
        ).all()
    holders = {k.user_id: k.wrapped_by_id for k in wrapped}
    assert holders[world(SARAH).id] == world(FAY).id
    assert holders[hana_id] == world(SARAH).id

    # On the room page the photo sits under the concern's entry, for those who may read it.
    room_id = decided.json()["room_id"]
    with TestClient(create_app(caseroom=app)) as browser:
        sign_in(browser, HANA, password)
        page = browser.get(f"/rooms/{room_id}")
        assert page.status_code == 200, page.text
        entry = page.text.split(f"Concern raised ({receipt['reference']})", 1)[1]
        assert f'data-photo-id="{photo_id}"' in entry.split('<li class="message', 1)[0]


def test_a_concern_straight_into_the_room_is_sealed_to_its_readers(
    world: World, client: TestClient, auth: Tokens
) -> None:
    world(HANA)
    receipt = raise_(client, auth, DAN, child=JAMIE)
    assert receipt["went_to"] == "room"
    photo_id = world.put_photo(DAN, receipt["contact_id"], PHOTO)
    assert world.get_photo(HANA, photo_id) == PHOTO
    for outsider in (FAY, OMAR):
        got = client.get(f"/api/v1/photos/{photo_id}", headers=auth(outsider))
        assert got.status_code == 404, got.text


def test_keys_for_other_people_than_the_readers_are_refused_with_who_they_are(
    world: World, client: TestClient, auth: Tokens
) -> None:
    world(FAY)
    dan = world(DAN)
    receipt = raise_(client, auth, DAN)
    listed = client.get(
        f"/api/v1/concerns/{receipt['contact_id']}/recipients", headers=auth(DAN)
    ).json()
    assert sorted(r["user"]["email"] for r in listed["items"]) == [DAN, FAY]
    assert dan.key is not None
    # Only Dan's own key: the front door was left out.
    contact_id, photo_id = receipt["contact_id"], str(uuid.uuid4())
    encrypted = crypto.encrypt_stream(io.BytesIO(PHOTO), io.BytesIO(), contact_id, photo_id)
    name = crypto.encrypt_name(encrypted.key, "p.jpg", "image/jpeg", contact_id, photo_id)
    own = fileformat.b64(dan.key.keys.box_public)
    with pytest.raises(ApiError) as refused:
        files._post(dan.api, files.Scope.concern(contact_id), photo_id, dan.key, "room", None,
                    encrypted, name, [(dan.id, own)])  # fmt: skip
    assert (refused.value.status, refused.value.code) == (409, "recipients_changed")
    assert FAY in [r["user"]["email"] for r in refused.value.body["recipients"]]


@pytest.mark.parametrize(
    ("who", "later", "status", "code"),
    [
        (OMAR, timedelta(0), 404, "not_found"),  # not the reporter
        (DAN, timedelta(hours=2), 409, "photos_closed"),  # photos go as the concern is sent
    ],
)
def test_only_the_reporter_adds_photos_and_only_as_they_send_it(
    world: World, client: TestClient, auth: Tokens, app: Caseroom,
    who: str, later: timedelta, status: int, code: str,
) -> None:  # fmt: skip
    receipt = raise_(client, auth, DAN)
    app.clock.advance(later)
    person = world(who)
    with pytest.raises(ApiError) as refused:
        assert person.key is not None
        files.put_photo(person.api, receipt["contact_id"], world.plaintext("p.jpg", PHOTO),
                        person.key)  # fmt: skip
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_decided_concern_takes_no_more_photos(
    world: World, client: TestClient, auth: Tokens
) -> None:
    receipt = raise_(client, auth, DAN)
    closed = client.post(
        f"/api/v1/front-door/{receipt['contact_id']}/decision",
        json={"decision": "close", "reason": "no_further_action"},
        headers=auth(FAY),
    )
    assert closed.status_code == 200, closed.text
    dan = world(DAN)
    assert dan.key is not None
    with pytest.raises(ApiError) as refused:
        files.put_photo(dan.api, receipt["contact_id"], world.plaintext("p.jpg", PHOTO), dan.key)
    assert refused.value.status == 404
