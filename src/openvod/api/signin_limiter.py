"""Failed console sign-ins, counted per client address and per SecretId in a sliding window.

Once either count reaches its limit, sign-in for that client (or that SecretId, from anywhere)
answers 429 without checking the credentials, so a correct guess made while limited gains
nothing; successful sign-ins are never counted. The counts live in this process's memory: one
``openvod serve`` process (the default) enforces the limits exactly; N processes behind a load
balancer allow up to N times as many guesses. No timers: a count is pruned when next looked at.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["SignInLimiter"]

_MAX_TRACKED = 10_000  # keys remembered at once; the stalest are dropped first


class SignInLimiter:
    def __init__(self, *, per_client: int, per_identity: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"client": per_client, "identity": per_identity}
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def begin(self, client: str, identity: str) -> tuple[int | None, float]:
        """Start an attempt: ``(retry_after, stamp)``. When ``retry_after`` is None the attempt
        is allowed and already counted as a failure (so concurrent guesses cannot all slip in
        before the first one fails); call :meth:`forgive` with ``stamp`` if it succeeds.
        Otherwise it is refused: ``retry_after`` seconds until a slot frees."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            keyed = (("client", client), ("identity", identity))
            for key in keyed:
                times = self._recent(key, now)
                limit = self._limits[key[0]]
                if times is not None and len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self._window - now)
            if wait > 0:
                return max(1, math.ceil(wait)), now
            for key in keyed:
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                while len(times) > max(self._limits.values()):
                    times.popleft()
                self._failures[key] = times  # most recently failed last
            while len(self._failures) > _MAX_TRACKED:
                self._failures.popitem(last=False)
        return None, now

    def forgive(self, client: str, identity: str, stamp: float) -> None:
        """Uncount an attempt from :meth:`begin` that succeeded (or was not a guess)."""
        with self._lock:
            for key in (("client", client), ("identity", identity)):
                times = self._failures.get(key)
                if times is not None and stamp in times:
                    times.remove(stamp)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
