"""The only importer of nacl: password hashes, keys derived from the server secret,
at-rest sealing, audit MACs and checkpoint signatures."""

from __future__ import annotations

import base64
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


# --- the server secret ---------------------------------------------------------------


def ensure_secret(settings: Settings) -> None:
    """Create the server secret once, outside the database (DESIGN.md §4)."""
    if settings.secret_key:
        return
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as secret_file:
        secret_file.write(secrets.token_hex(32))


def load_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path: Path = settings.data_dir / SECRET_FILE
    if not path.exists():
        ensure_secret(settings)
    return path.read_text().strip().encode()


class Keys:
    """Purpose-separated keys derived from the one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.audit_mac_key = self._derive(b"audit-mac")
        self.key_id = hashlib.blake2b(self.audit_mac_key, digest_size=6).hexdigest()
        self._at_rest = nacl.secret.SecretBox(self._derive(b"at-rest"))
        self._signing = nacl.signing.SigningKey(self._derive(b"audit-checkpoint"))

    def _derive(self, purpose: bytes) -> bytes:
        return hashlib.blake2b(self._secret, key=purpose, digest_size=32).digest()

    # at rest
    def seal(self, plaintext: str) -> str:
        return base64.b64encode(self._at_rest.encrypt(plaintext.encode())).decode()

    def unseal(self, sealed: str) -> str:
        return self._at_rest.decrypt(base64.b64decode(sealed)).decode()

    # audit
    def audit_mac(self, prev_mac: str, record: bytes) -> str:
        return hmac.new(self.audit_mac_key, prev_mac.encode() + record, "sha256").hexdigest()

    # purpose-bound MACs (e.g. unsubscribe links): a MAC made for one purpose is worthless
    # for any other
    def mac(self, purpose: bytes, message: bytes) -> bytes:
        return hmac.new(self._derive(b"mac:" + purpose), message, "sha256").digest()

    def sign(self, message: bytes) -> str:
        return self._signing.sign(message).signature.hex()

    def verify_signature(self, message: bytes, signature_hex: str) -> bool:
        try:
            self._signing.verify_key.verify(message, bytes.fromhex(signature_hex))
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


# --- passwords and tokens ---------------------------------------------------------------


def hash_password(password: str) -> str:
    return nacl.pwhash.argon2id.str(password.encode()).decode()


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
