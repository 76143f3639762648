"""Events: pull and confirm, push settings and deliveries."""

from __future__ import annotations

from collections.abc import Iterable

from openvod.client._base import BaseClient
from openvod.client.models import Callback, Delivery, Event

__all__ = ["CONFIRM_BATCH", "EventsAPI"]

CONFIRM_BATCH = 100


class EventsAPI(BaseClient):
    """Events: pull and confirm, push settings and deliveries."""

    # -- events --------------------------------------------------------------------------------

    def pull_events(self, wait: float = 5.0) -> list[Event]:
        """Up to 16 unconfirmed events, oldest first, waiting up to ``wait`` seconds (capped by the
        server, 5 s by default) for one when none is ready; ``[]`` when none came.

        Each event is hidden for a while (30 s by default) once handed out and comes back unless
        confirmed with :meth:`confirm_events`: process, then confirm, and dedupe on ``event_id``.
        """
        body = self._json("GET", "/v1/events", params={"wait": wait}, timeout=self._long_poll_timeout(wait))
        return [Event.from_json(e) for e in body.get("items", [])]

    def confirm_events(self, handles: Iterable[str | Event]) -> int:
        """Confirm events (by handle or :class:`Event`) so they are never handed out again; returns
        how many of this app's events they named. Unknown or stale handles are ignored, not errors."""
        wanted = [h.handle if isinstance(h, Event) else h for h in handles]
        confirmed = 0
        for i in range(0, len(wanted), CONFIRM_BATCH):
            body = self._json("POST", "/v1/events/confirm", json={"handles": wanted[i : i + CONFIRM_BATCH]})
            confirmed += int(body.get("confirmed") or 0)
        return confirmed

    def callback(self) -> Callback:
        """The app's push settings (URL, method, signing secret)."""
        return Callback.from_json(self._json("GET", "/v1/app/callback"))

    def set_callback(self, url: str, method: str = "POST") -> Callback:
        """Push the app's events to ``url``, signed with the returned ``secret``."""
        return Callback.from_json(self._json("PUT", "/v1/app/callback", json={"url": url, "method": method}))

    def clear_callback(self) -> Callback:
        """Stop pushing the app's events."""
        return Callback.from_json(self._json("DELETE", "/v1/app/callback"))

    def deliveries(self, state: str | None = None, limit: int = 50) -> list[Delivery]:
        """Recent pushes, newest first: ``state`` is ``pending``, ``done`` or ``failed``; ``limit`` ≤ 100."""
        params: dict[str, str | int] = {"limit": limit}
        if state:
            params["state"] = state
        body = self._json("GET", "/v1/events/deliveries", params=params)
        return [Delivery.from_json(d) for d in body.get("items", [])]

    def redeliver(self, delivery_id: int) -> Delivery:
        """Push a delivery again now (also one that has failed for good)."""
        return Delivery.from_json(self._json("POST", f"/v1/events/deliveries/{int(delivery_id)}/redeliver"))
