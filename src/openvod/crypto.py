"""Secrets at rest: AES-256-GCM under a master key file kept beside the database.

HMAC schemes (TC3, SigV4, upload signatures, push signatures) need the secret itself, so stored
secrets are encrypted rather than hashed. A sealed value is a versioned token,
``v1:`` + base64url(nonce ‖ ciphertext ‖ tag), whose associated data names its row and column
(``api_key.secret_key:AKID…``): a token copied into another row does not open there.

The master key is 32 random bytes in a file created once with mode 0600 (``master.key`` in the
data dir, or ``master_key_file``). Whoever holds the database *and* that file holds the secrets;
put the file on another volume to keep database backups harmless.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openvod.errors import OpenVODError

__all__ = ["MASTER_KEY_BYTES", "SEALED_PREFIX", "SecretBox", "SecretUnreadable", "is_sealed", "load_master_key"]

log = logging.getLogger("openvod.crypto")

MASTER_KEY_BYTES = 32
SEALED_PREFIX = "v1:"
_NONCE_BYTES = 12


class SecretUnreadable(OpenVODError):
    """A stored secret does not open under this master key (wrong key file, or a tampered row)."""

    status = 500
    default_code = "InternalError.SecretUnreadable"


def is_sealed(value: str) -> bool:
    """True if ``value`` is a sealed token. Generated SecretKeys and callback secrets never
    contain ``:``, so a legacy plaintext value is never mistaken for one."""
    return value.startswith(SEALED_PREFIX)


class SecretBox:
    """Seals and opens short secrets bound to a context string (their row and column)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != MASTER_KEY_BYTES:
            raise ValueError(f"the master key must be {MASTER_KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def open(self, token: str, context: str) -> str:
        """The plaintext of ``token``; ``SecretUnreadable`` if it was sealed under another key or
        context, or altered."""
        if not is_sealed(token):
            raise SecretUnreadable(f"the stored secret for {context} is not sealed; restart the server to seal it")
        body = token[len(SEALED_PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise SecretUnreadable(
                f"the stored secret for {context} does not decrypt with this server's master key "
                "(master_key_file): the key file was replaced, or the row was altered") from exc


def load_master_key(path: Path) -> tuple[bytes, bool]:
    """Read the master key at ``path``, creating it (0600, atomically) if absent.

    Returns ``(key, created)``. Creation writes a temporary file and hard-links it into place, so
    two processes starting at once agree on one key and nobody ever reads a half-written file.
    """
    try:
        return _read(path), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(MASTER_KEY_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process published first; then use its key
            created = True
        except FileExistsError:
            created = False
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path), created


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != MASTER_KEY_BYTES:
        raise OpenVODError(f"master key file {path} holds {len(key)} bytes, not {MASTER_KEY_BYTES}; "
                           "restore the original file (secrets stored in the database need it)",
                           code="InternalError.MasterKey")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("master key file %s is readable by group or others (mode %o); chmod 600 it", path, mode)
    return key
