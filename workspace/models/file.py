"""End-to-end encrypted files (DESIGN.md §5). The server keeps public keys, sealed blobs,
ciphertext metadata and signed manifests: never a file key, a plaintext name or a private
key in the clear. The ciphertext itself lives on disk, content-addressed by its sha256."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id

# A file is uploaded in two steps: its metadata and keys, then its ciphertext.
CONTENT_STATES = ("pending", "stored")


class UserKeys(SQLModel, table=True):
    """Someone's public keys, and their private keys sealed under a key derived from a
    passphrase only they know (Argon2id), so another device can restore them."""

    __tablename__ = "user_keys"
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=36)
    box_public: str = Field(max_length=64)  # X25519, base64
    sign_public: str = Field(max_length=64)  # Ed25519, base64
    sealed_private: str = Field(max_length=512)  # base64: nonce || AEAD(box sk || sign seed)
    kdf_salt: str = Field(max_length=64)
    kdf_opslimit: int
    kdf_memlimit: int
    fingerprint: str = Field(max_length=64)
    created_at: datetime
    updated_at: datetime


class EncryptedFile(SQLModel, table=True):
    __tablename__ = "encrypted_file"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    uploader_id: str = Field(foreign_key="user.id", max_length=36)
    # The organisation at the time of upload: restricted files stay with it (rule 2).
    uploader_org_id: str = Field(foreign_key="organisation.id", max_length=36)
    sensitivity: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    size: int  # of the ciphertext
    sha256: str = Field(max_length=64)  # hex, of the ciphertext
    manifest: str = Field(max_length=20000)  # canonical JSON, signed by the uploader
    signature: str = Field(max_length=128)  # base64 Ed25519 over the manifest's bytes
    # The signing key that verified the manifest at upload: the uploader may make new keys
    # later, and their earlier files must still verify with the key that signed them.
    sign_public: str = Field(max_length=64)
    encrypted_name: str = Field(max_length=4000)  # base64, under the file key
    content_state: str = Field(default="pending", max_length=16)
    created_at: datetime = Field(index=True)
    stored_at: datetime | None = None


class SealedKey(SQLModel, table=True):
    """A file key sealed (crypto_box_seal) to one recipient's public key: only they open it."""

    __tablename__ = "sealed_key"
    file_id: str = Field(foreign_key="encrypted_file.id", primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", primary_key=True, index=True, max_length=36)
    sealed_key: str = Field(max_length=256)  # base64
    box_public: str = Field(max_length=64)  # the key it was sealed to
    wrapped_by_id: str = Field(foreign_key="user.id", max_length=36)
    created_at: datetime
