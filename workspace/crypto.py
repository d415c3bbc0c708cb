"""The only importer of nacl: password hashes, keys derived from the server secret,
at-rest sealing, audit MACs, and the audit signing key (kept apart from the secret)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.signing
import nacl.utils

from workspace.settings import Settings

SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


def _create_key_file(path: Path) -> None:
    """Write 32 random bytes (hex) to a new file, once, atomically: the key is written and
    fsync'd under a temporary name, then linked to its own name, which fails if another
    process got there first (then theirs is kept). So no process ever reads a half-written
    key. Created 0600 from the start: never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_hex(32))
            key_file.flush()
            os.fsync(key_file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()


# --- the server secret ---------------------------------------------------------------


def ensure_secret(settings: Settings) -> None:
    """Create the server secret once, outside the database (DESIGN.md §4)."""
    if settings.secret_key:
        return
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        _create_key_file(path)


def load_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path: Path = settings.data_dir / SECRET_FILE
    if not path.exists():
        ensure_secret(settings)
    return path.read_text().strip().encode()


# --- the audit signing key -------------------------------------------------------------


def ensure_signing_key(settings: Settings) -> None:
    """Create the audit signing key once. It is not derived from the server secret, so
    someone who holds the MAC key (the secret) cannot sign a checkpoint of a forged log;
    CASEROOM_AUDIT_SIGNING_KEY_FILE lets the operator keep it on another volume."""
    if not settings.audit_signing_key_path.exists():
        _create_key_file(settings.audit_signing_key_path)


def load_signing_key(settings: Settings) -> bytes:
    ensure_signing_key(settings)
    text = settings.audit_signing_key_path.read_text().strip()
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ValueError(
            f"{settings.audit_signing_key_path} does not hold an audit signing key "
            "(64 hexadecimal digits)"
        )
    return seed


def _key_id(material: bytes) -> str:
    return hashlib.blake2b(material, digest_size=6).hexdigest()


class Keys:
    """Purpose-separated keys derived from the one server secret, and the audit signing
    key, which is not: checkpoints are signed with a key of its own.

    Deployments before the separate key signed their checkpoints with a key derived from
    the secret, under the MAC key's id; those still verify (`legacy_signing_key_id`)."""

    def __init__(self, secret: bytes, signing_seed: bytes) -> None:
        self._secret = secret
        self.audit_mac_key = self._derive(b"audit-mac")
        self.key_id = _key_id(self.audit_mac_key)
        self._at_rest = nacl.secret.SecretBox(self._derive(b"at-rest"))
        self._signing = nacl.signing.SigningKey(signing_seed)
        self.public_key = self._signing.verify_key.encode().hex()
        self.signing_key_id = _key_id(self._signing.verify_key.encode())
        self.legacy_signing_key_id = self.key_id
        self._verify_keys = {
            self.signing_key_id: self._signing.verify_key,
            self.legacy_signing_key_id: nacl.signing.SigningKey(
                self._derive(b"audit-checkpoint")
            ).verify_key,
        }

    def _derive(self, purpose: bytes) -> bytes:
        return hashlib.blake2b(self._secret, key=purpose, digest_size=32).digest()

    # at rest
    def seal(self, plaintext: str) -> str:
        return base64.b64encode(self._at_rest.encrypt(plaintext.encode())).decode()

    def unseal(self, sealed: str) -> str:
        return self._at_rest.decrypt(base64.b64decode(sealed)).decode()

    def seal_bytes(self, plaintext: bytes, context: bytes) -> bytes:
        """Bytes at rest (a plan's CRDT updates), bound to `context` (e.g. the room), so a
        row copied under another room or purpose by someone with the database fails to
        open rather than being read as that room's."""
        bound = len(context).to_bytes(2, "big") + context + plaintext
        return bytes(self._at_rest.encrypt(bound))

    def unseal_bytes(self, sealed: bytes, context: bytes) -> bytes:
        """Raises ValueError if the bytes were tampered with or sealed for another context."""
        try:
            bound = self._at_rest.decrypt(bytes(sealed))
        except nacl.exceptions.CryptoError as exc:
            raise ValueError("sealed data does not open with this server's key") from exc
        size = int.from_bytes(bound[:2], "big")
        if bound[2 : 2 + size] != context:
            raise ValueError("sealed data belongs to another context")
        return bound[2 + size :]

    # audit
    def audit_mac(self, prev_mac: str, record: bytes) -> str:
        return hmac.new(self.audit_mac_key, prev_mac.encode() + record, "sha256").hexdigest()

    # purpose-bound MACs (e.g. unsubscribe links): a MAC made for one purpose is worthless
    # for any other
    def mac(self, purpose: bytes, message: bytes) -> bytes:
        return hmac.new(self._derive(b"mac:" + purpose), message, "sha256").digest()

    def sign(self, message: bytes) -> str:
        """An audit checkpoint's signature, by the audit signing key (`signing_key_id`)."""
        return self._signing.sign(message).signature.hex()

    def knows_signing_key(self, key_id: str) -> bool:
        return key_id in self._verify_keys

    def verify_signature(
        self, message: bytes, signature_hex: str, key_id: str | None = None
    ) -> bool:
        """Whether the key named `key_id` (by default the signing key) signed `message`."""
        verify_key = self._verify_keys.get(key_id or self.signing_key_id)
        if verify_key is None:
            return False
        try:
            verify_key.verify(message, bytes.fromhex(signature_hex))
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


# --- passwords and tokens ---------------------------------------------------------------


def hash_password(password: str) -> str:
    return nacl.pwhash.argon2id.str(password.encode()).decode()


def unusable_password_hash() -> str:
    """A hash no password matches (nobody knows what was hashed): for an account that
    signs in through its organisation's provider, or has not set its password yet."""
    return hash_password(secrets.token_urlsafe(32))


_DUMMY_HASH: str | None = None


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal it."""
    global _DUMMY_HASH
    if stored is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(16))
        stored = _DUMMY_HASH
        password += "\0never"
    try:
        return bool(nacl.pwhash.verify(stored.encode(), password.encode()))
    except nacl.exceptions.InvalidkeyError:
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- end-to-end encrypted files (the server only checks; it holds no key) ------------


def signature_is_valid(sign_public: bytes, message: bytes, signature: bytes) -> bool:
    """An uploader's Ed25519 signature over a file manifest (workspace/fileformat.py)."""
    try:
        nacl.signing.VerifyKey(sign_public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True
