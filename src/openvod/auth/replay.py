"""A memory of accepted request signatures, so a captured signature cannot be reused for another
request while its timestamp is still inside the skew window.

Tencent's TC3 signature (as the official SDKs make it) signs only ``content-type`` and ``host``,
the body and the timestamp: ``X-TC-Action`` is *not* signed. A request captured in flight could
be resent within the skew window with another action (a signed ``ModifyMediaInfo`` body resent
as ``DeleteMedia``), or, with ``X-TC-Content-SHA256: UNSIGNED-PAYLOAD``, with another body.
:class:`ReplayGuard` remembers, for each accepted signature, a fingerprint of what it was used
for, and refuses the same signature for anything else.

    guard = ReplayGuard(window=600)
    guard.check(signature, fingerprint(action, method, query, body), now=time.time())

An *identical* resend (same signature and fingerprint) is accepted: the SDKs sign with a
one-second timestamp, so a client calling the same action with the same parameters twice in one
second (polling ``DescribeTaskDetail``, a retry after a network error) sends byte-identical
requests, and refusing them would break legitimate clients while the attacker gains nothing the
captured request did not already allow.

The price: since nothing unique is signed, a client that calls two *different* actions with
byte-identical bodies in the same second makes one signature twice. Reads (``Describe*``,
``Search*``) share one fingerprint (:func:`openvod.auth.tc3.verify_tc3`), so the common case
(two parameterless listings) passes; a second *changing* action with the same signature is
refused with :data:`CODE_REPLAY` and passes when retried a second later. Clients that add
``x-tc-action`` to SignedHeaders (as Tencent's own TC3 example does) are not tracked at all: the
action is signed.

The memory is per process and bounded (``max_entries``): entries leave when their window ends,
and when it is full the oldest entries are dropped first (they are the nearest to expiry).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from openvod.auth import codes
from openvod.errors import AuthFailure

__all__ = ["CODE_REPLAY", "ReplayGuard", "fingerprint"]

CODE_REPLAY = codes.REPLAY


def fingerprint(*parts: str | bytes) -> bytes:
    """A digest of what a signature was used for (action, method, query, body, ...)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


class ReplayGuard:
    """Thread-safe, bounded memory of ``signature -> (fingerprint, forget-at)``."""

    def __init__(self, window: float, *, max_entries: int = 100_000) -> None:
        if window <= 0 or max_entries < 1:
            raise ValueError("window and max_entries must be positive")
        self.window = window
        self.max_entries = max_entries
        self._seen: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def check(self, signature: str, used_for: bytes, *, now: float) -> None:
        """Record ``signature`` as used for ``used_for``; raise :class:`AuthFailure`
        (:data:`CODE_REPLAY`) when it was already accepted for something else."""
        with self._lock:
            self._purge(now)
            seen = self._seen.get(signature)
            if seen is not None:
                if seen[0] != used_for:
                    raise AuthFailure(
                        "this signature was already accepted for a different request (another action, query "
                        "or body) and cannot be reused; sign the request again (a client that sent two "
                        "actions with the same body in the same second should retry, or sign X-TC-Action)",
                        code=CODE_REPLAY)
                return
            while len(self._seen) >= self.max_entries:
                self._seen.popitem(last=False)
            self._seen[signature] = (used_for, now + self.window)

    def _purge(self, now: float) -> None:
        # Insertion order is close to expiry order (every entry lives ``window`` seconds), so
        # the front is where expired entries are.
        while self._seen:
            first = next(iter(self._seen.values()))
            if first[1] > now:
                break
            self._seen.popitem(last=False)
