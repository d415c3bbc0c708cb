"""Input shapes of the files API; base64 is standard with padding (DESIGN.md §6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from workspace import fileformat
from workspace.schemas import Consent, Kind, LawfulBasis, LongText, Sensitivity, Strict

Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                      r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]  # fmt: skip
B64 = Annotated[str, StringConstraints(min_length=4, max_length=4000)]


def _b64(value: str, size: int | None = None) -> str:
    fileformat.unb64(value, size)
    return value


class KdfIn(Strict):
    salt: B64
    opslimit: int = Field(ge=fileformat.MIN_OPSLIMIT, le=2**32 - 1)
    memlimit: int = Field(ge=fileformat.MIN_MEMLIMIT, le=fileformat.MAX_MEMLIMIT)

    @field_validator("salt")
    @classmethod
    def _salt(cls, value: str) -> str:
        return _b64(value, fileformat.SALT_BYTES)


class KeysIn(Strict):
    """`sealed_private`: the private keys sealed under a key derived from the passphrase."""

    box_public: B64
    sign_public: B64
    sealed_private: Annotated[str, StringConstraints(min_length=4, max_length=512)]
    kdf: KdfIn

    @field_validator("box_public", "sign_public")
    @classmethod
    def _public(cls, value: str) -> str:
        return _b64(value, fileformat.PUBLIC_KEY_BYTES)

    @field_validator("sealed_private")
    @classmethod
    def _sealed(cls, value: str) -> str:
        return _b64(value)


class KeyIn(Strict):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    sealed_key: B64

    @field_validator("sealed_key")
    @classmethod
    def _sealed(cls, value: str) -> str:
        return _b64(value, fileformat.SEALED_KEY_BYTES)


class FileIn(Strict):
    """`id` is chosen by the uploader (a random UUID): the chunks and the manifest are bound
    to it, so it must exist before the file is encrypted."""

    id: Id
    sensitivity: Sensitivity
    kind: Kind = "fact"
    size: int = Field(ge=fileformat.STREAM_ABYTES)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    manifest: Annotated[str, StringConstraints(min_length=2, max_length=20000)]
    signature: B64
    encrypted_name: Annotated[str, StringConstraints(min_length=4, max_length=4000)]
    keys: list[KeyIn] = Field(max_length=500)

    @field_validator("signature")
    @classmethod
    def _signature(cls, value: str) -> str:
        return _b64(value, fileformat.SIGNATURE_BYTES)

    @field_validator("encrypted_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _b64(value)


class WrapIn(Strict):
    """More sealed keys for a file. The lead's share with someone who was not entitled when
    it was uploaded (a guest, a newer member) is a sharing decision: say why."""

    keys: list[KeyIn] = Field(min_length=1, max_length=500)
    purpose: LongText | None = None
    lawful_basis: LawfulBasis | None = None
    consent: Consent | None = None
    consent_reason: Annotated[str, StringConstraints(max_length=1000)] | None = None


class TamperedIn(Strict):
    """What a client found wrong when it checked a download (never any of its content)."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]
