"""Signed, expiring object URLs: HMAC-SHA256 over method, bucket, key and expiry."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["sign_object", "verify_object"]


def _mac(secret: bytes, method: str, bucket: str, key: str, expires: int) -> str:
    msg = f"{method.upper()}\n{bucket}\n{key}\n{expires}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def sign_object(secret: bytes, method: str, bucket: str, key: str, expires: int) -> str:
    return _mac(secret, method, bucket, key, expires)


def verify_object(secret: bytes, method: str, bucket: str, key: str, expires: int, signature: str, now: float) -> bool:
    """True if ``signature`` is right (compared in constant time) and ``expires`` is in the future."""
    good = hmac.compare_digest(_mac(secret, method, bucket, key, expires), signature)
    return good and now < expires
