"""Photos on a concern (issue #14 item 2), in the file format of DESIGN.md §5.

The reporter's browser sends the concern first, then each photo: encrypted there, bound
to the contact's id (the manifest's `room_id`, the chunks' associated data) and its key
sealed to exactly the people the policy lets read the concern now: the front-door team
when it went there, the readers of the item when it went straight to the child's room.
A photo follows its concern (`ContactPhoto` in the policy): when the front door opens a
room or attaches the concern to one, whoever may read the concern's item there may read
the photo, and someone who holds the key (the triager) wraps it for them, as for files
(`offers`). The server holds ciphertext, sealed keys and the signed manifest only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from workspace.access import Access, LoadedPhoto, Target
from workspace.clock import iso, utc
from workspace.errors import Conflict, Invalid, TooLarge
from workspace.facts import photo_offer_fact
from workspace.models import Contact, ContactPhoto, ContactPhotoKey, User, UserKeys
from workspace.services.files import recipients
from workspace.services.files.inputs import FileIn, TamperedIn, WrapIn
from workspace.services.files.reading import Content
from workspace.services.files.store import Expected
from workspace.services.files.uploads import check_manifest, sealed_for_exactly, store_of
from workspace.services.files.views import Person, Recipient, Recipients

# Photos go with the concern as it is sent, not later: a concern is a record of what the
# reporter knew then (and a decided contact is closed to additions by the policy).
WINDOW = timedelta(hours=1)
MAX_PHOTOS = 10


@dataclass(frozen=True)
class PhotoView:
    photo: ContactPhoto
    uploader: Person
    sealed_key: ContactPhotoKey | None  # the caller's own, if they hold one
    offer_to_wrap: tuple[Recipient, ...] = ()

    def json(self) -> dict[str, Any]:
        p = self.photo
        return {
            "id": p.id,
            "contact_id": p.contact_id,
            # What the manifest and every chunk are bound to (docs/file-format.md §2).
            "scope_id": p.contact_id,
            "uploader": self.uploader.json(),
            "uploader_sign_public": p.sign_public,
            "size": p.size,
            "sha256": p.sha256,
            "manifest": p.manifest,
            "signature": p.signature,
            "encrypted_name": p.encrypted_name,
            "created_at": iso(p.created_at),
            "stored": p.content_state == "stored",
            "sealed_key": self.sealed_key.sealed_key if self.sealed_key else None,
            "offer_to_wrap": [
                {"user": r.person.json(), "box_public": r.keys.box_public,
                 "sign_public": r.keys.sign_public, "fingerprint": r.keys.fingerprint}
                for r in self.offer_to_wrap
            ],
        }  # fmt: skip


# --- adding photos (the reporter) --------------------------------------------------------


def recipients_for(access: Access, contact_id: str) -> Recipients:
    """Whom the reporter seals each photo's key to."""
    loaded = access.contact(contact_id, "add_photo", audit_as="list_recipients")
    return _for_upload(access, loaded.contact)


def _for_upload(access: Access, contact: Contact) -> Recipients:
    """The readers, and the reporter themselves: every uploader is a recipient of their own
    file, so the signed manifest names their keys (readers pin them from it). Their key
    opens nothing the policy would not show them: they took the photo."""
    readers = _readers(access, contact)
    me = access.require_user()
    if any(r.person.user.id == me.id for r in readers.items):
        return readers
    own = [
        Recipient(Person(user, org), keys)
        for user, org, keys in recipients.people(access, col(User.id) == me.id)
        if keys is not None
    ]
    return Recipients((*readers.items, *own), readers.waiting)


def _readers(access: Access, contact: Contact) -> Recipients:
    """Who may read a photo of `contact` now, asked of the policy person by person among
    those who could: the room's people once it is an item there, else its front door's."""
    prototype = access.loaded_photo(
        ContactPhoto(id="", contact_id=contact.id, uploader_id=contact.reporter_id, size=0,
                     sha256="", manifest="", signature="", sign_public="", encrypted_name="",
                     created_at=access.now),
        contact,
    )  # fmt: skip
    if prototype.room is not None:
        candidates = recipients.in_room(access, prototype.room.room.id)
    elif contact.org_id is not None:
        candidates = recipients.in_organisation(access, contact.org_id)
    else:
        candidates = []
    return recipients.entitled(access, candidates, prototype.fact)


def create(access: Access, contact_id: str, data: FileIn) -> ContactPhoto:
    loaded = access.contact(contact_id, "add_photo", audit_as="upload_photo")
    contact = loaded.contact
    uploader = access.require_user()
    if access.now - utc(contact.received_at) > WINDOW:
        raise Conflict(
            "Photos go with a concern as it is sent; this concern was sent over an hour ago. "
            "Raise a new concern to add more.",
            code="photos_closed",
        )
    if data.size > access.app.settings.max_file_bytes:
        raise TooLarge(f"A photo may be at most {access.app.settings.max_file_bytes} bytes.")
    if data.sensitivity != contact.sensitivity:
        raise Invalid(
            "A photo has its concern's sensitivity.",
            fields={"sensitivity": f"must be {contact.sensitivity}"},
        )
    if access.session.get(ContactPhoto, data.id) is not None:
        raise Conflict("A photo with this id exists; choose another.", code="file_exists")
    count = access.session.exec(
        select(func.count()).where(col(ContactPhoto.contact_id) == contact.id)
    ).one()
    if count >= MAX_PHOTOS:
        raise Invalid(
            f"A concern takes at most {MAX_PHOTOS} photos.", fields={"id": "too many photos"}
        )
    own = access.session.get(UserKeys, uploader.id)
    if own is None:
        raise Conflict("Set up your encryption keys first (PUT /me/keys).", code="keys_needed")
    wanted, given = sealed_for_exactly(access, _for_upload(access, contact), data, loaded.target)
    check_manifest(contact.id, uploader, own, data, wanted)
    photo = ContactPhoto(
        id=data.id, contact_id=contact.id, uploader_id=uploader.id, size=data.size,
        sha256=data.sha256, manifest=data.manifest, signature=data.signature,
        sign_public=own.sign_public, encrypted_name=data.encrypted_name,
        created_at=access.now,
    )  # fmt: skip
    access.session.add(photo)
    access.session.flush()
    for user_id, sealed in given.items():
        access.session.add(
            ContactPhotoKey(photo_id=photo.id, user_id=user_id, sealed_key=sealed,
                            box_public=wanted[user_id].box_public, wrapped_by_id=uploader.id,
                            created_at=access.now)
        )  # fmt: skip
    access.record("photo_created", Target("contact_photo", photo.id), purpose=contact.reference)
    return photo


def _own_pending(access: Access, photo_id: str, audit_as: str) -> ContactPhoto:
    """The caller's photo whose ciphertext has not arrived, on a concern they may still
    add to; anyone else's, or an unknown id, is a 404."""
    photo = access.session.get(ContactPhoto, photo_id)
    if photo is None or photo.uploader_id != access.require_user().id:
        access.deny(audit_as, Target("contact_photo", photo_id), conceal=True)
        raise AssertionError("unreachable")
    access.contact(photo.contact_id, "add_photo", audit_as=audit_as)
    if photo.content_state != "pending":
        raise Conflict("This photo's content has been uploaded already.", code="content_stored")
    return photo


def expect_content(access: Access, photo_id: str) -> Expected:
    photo = _own_pending(access, photo_id, "upload_photo_content")
    return Expected(photo.size, photo.sha256)


def finish_content(access: Access, photo_id: str, temp: Path) -> None:
    store = store_of(access)
    try:
        photo = _own_pending(access, photo_id, "photo_uploaded")
        store.keep(temp, photo.sha256)
    except BaseException:
        store.discard(temp)
        raise
    photo.content_state, photo.stored_at = "stored", access.now
    access.session.add(photo)


# --- reading and passing the key on ------------------------------------------------------


def metadata(access: Access, photo_id: str) -> PhotoView:
    loaded = access.contact_photo(photo_id, "read")
    return _views(access, [loaded])[0]


def report_tampered(access: Access, photo_id: str, data: TamperedIn) -> None:
    """A reader's client found that the photo did not verify (as for files)."""
    loaded = access.contact_photo(photo_id, "read", audit_as="verify_photo")
    access.record("photo_verification_failed", loaded.target, purpose=data.reason)


def content(access: Access, photo_id: str) -> Content:
    loaded = access.contact_photo(photo_id, "read", audit_as="download_photo")
    return Content(loaded.photo.size, store_of(access).read(loaded.photo.sha256))


def views_of(access: Access, contact: Contact) -> list[PhotoView]:
    """A concern's photos the caller may read, for the page showing the concern (which
    audited reading it): each with the caller's key and whom they may pass it to."""
    return _views(access, access.photos_of(contact))


def for_items(access: Access, item_ids: Collection[str]) -> dict[str, list[PhotoView]]:
    """The photos of the concerns among a page's items (already filtered by the policy),
    by item id: one query for the page; concerns are few."""
    if not item_ids:
        return {}
    concerns = access.session.exec(
        select(Contact).where(col(Contact.message_id).in_(list(item_ids)))
    ).all()
    found = {c.message_id: views_of(access, c) for c in concerns if c.message_id}
    return {item_id: views for item_id, views in found.items() if views}


def _views(access: Access, loaded: list[LoadedPhoto]) -> list[PhotoView]:
    if not loaded:
        return []
    me = access.require_user()
    mine = {
        k.photo_id: k
        for k in access.session.exec(
            select(ContactPhotoKey).where(
                col(ContactPhotoKey.user_id) == me.id,
                col(ContactPhotoKey.photo_id).in_([p.photo.id for p in loaded]),
            )
        ).all()
    }
    uploaders = {
        u.id: Person(u, o)
        for u, o, _ in recipients.people(
            access, col(User.id).in_({p.photo.uploader_id for p in loaded})
        )
    }
    return [
        PhotoView(
            p.photo,
            uploaders[p.photo.uploader_id],
            mine.get(p.photo.id),
            offers(access, p) if p.photo.id in mine else (),
        )
        for p in loaded
    ]


def offers(access: Access, loaded: LoadedPhoto) -> tuple[Recipient, ...]:
    """Whom a holder may wrap the photo's key for: people who may read it now, have keys
    and hold none, among those the policy lets the holder be offered (`PhotoOffer`: the
    front door's team, the room's lead; in the room, its people)."""
    if not access.allowed("wrap_key", loaded.fact):
        return ()
    contact, room = loaded.contact.contact, loaded.room
    in_room = recipients.in_room(access, room.room.id) if room is not None else []
    at_front_door = recipients.in_organisation(access, contact.org_id) if contact.org_id else []
    holders = set(
        access.session.exec(
            select(ContactPhotoKey.user_id).where(col(ContactPhotoKey.photo_id) == loaded.photo.id)
        ).all()
    )
    members = {u.id for u, _, _ in in_room}
    unique = {
        u.id: (u, o, k)
        for u, o, k in (*at_front_door, *in_room)
        if u.id not in holders
        and access.allowed("make", photo_offer_fact(loaded.fact, u, u.id in members))
    }
    return recipients.entitled(access, list(unique.values()), loaded.fact).items


def wrap(access: Access, photo_id: str, data: WrapIn) -> list[str]:
    """Seal the photo's key for more readers (the caller's client opened it to do so)."""
    loaded = access.contact_photo(photo_id, "wrap_key")
    if len({k.user_id for k in data.keys}) != len(data.keys):
        raise Invalid("One sealed key per person.", fields={"keys": "duplicate user_id"})
    may = {r.person.user.id: r for r in offers(access, loaded)}
    given: list[str] = []
    for key in data.keys:
        recipient = may.get(key.user_id)
        if recipient is None:
            raise Invalid(
                "They may not read this photo, have no keys yet, or hold its key already.",
                fields={"keys": key.user_id},
            )
        access.session.add(
            ContactPhotoKey(photo_id=loaded.photo.id, user_id=key.user_id,
                            sealed_key=key.sealed_key, box_public=recipient.keys.box_public,
                            wrapped_by_id=access.require_user().id, created_at=access.now)
        )  # fmt: skip
        access.record("photo_key_wrapped", loaded.target, purpose=f"for {key.user_id}")
        given.append(key.user_id)
    return given

