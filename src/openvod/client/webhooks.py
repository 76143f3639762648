"""Check that a webhook really comes from your OpenVOD server. Needs nothing but the standard library.

OpenVOD pushes each event as a JSON body with three headers::

    OpenVOD-Event-Id:  ev01j...        the same on every retry of the event: dedupe on it
    OpenVOD-Timestamp: 1718000000      unix seconds of this attempt
    OpenVOD-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

``secret`` is the app's callback secret (``GET /v1/app/callback``). In a receiver::

    from openvod.client.webhooks import verify_signature

    body = request.body()  # the raw bytes, before any JSON parsing
    if not verify_signature(SECRET, request.headers["OpenVOD-Timestamp"], body,
                            request.headers["OpenVOD-Signature"]):
        return 401
    event = json.loads(body)
    if already_seen(event["event_id"]):  # deliveries are at-least-once
        return 200

Answer with any 2xx to end the delivery; anything else (or no answer within the server's push
timeout) is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "verify_signature",
]

EVENT_ID_HEADER = "OpenVOD-Event-Id"
TIMESTAMP_HEADER = "OpenVOD-Timestamp"
SIGNATURE_HEADER = "OpenVOD-Signature"

_SCHEME = "v1"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """The ``OpenVOD-Signature`` header value for ``body`` sent at ``timestamp``: ``v1=<hex>``."""
    message = str(timestamp).encode() + b"." + _as_bytes(body)
    return f"{_SCHEME}=" + hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: int | str,
    body: str | bytes,
    header: str,
    *,
    tolerance: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """True if ``header`` (the ``OpenVOD-Signature`` value) signs ``body`` at ``timestamp`` with ``secret``.

    ``body`` must be the raw request body. The header may list several comma-separated ``v1=``
    values (any match is enough). Comparison is constant-time. A ``timestamp`` more than
    ``tolerance`` seconds away from ``now`` (default: the current time) is refused, which stops a
    captured request from being replayed later; pass ``tolerance=None`` to skip that check.
    """
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    expected = sign(secret, ts, body)
    matched = False
    for candidate in header.split(","):
        # no early exit: every candidate is compared, so timing says nothing about which matched
        matched |= hmac.compare_digest(candidate.strip().encode(), expected.encode())
    return matched
