"""Object markers: stored payloads name objects as ``{"_object": [bucket, key]}``, never as URLs
(which are signed and expire); ``services.urls.render`` swaps markers for fresh URLs when a payload
is read or sent. Jobs write markers into their outputs, so the format lives here, below both."""

from __future__ import annotations

from typing import Any

__all__ = ["object_marker"]


def object_marker(bucket: str, key: str, url_field: str | None = None) -> dict[str, Any]:
    """A marker for ``bucket``/``key``; inside a dict it renders as ``url_field`` (default ``Url``)."""
    marker: dict[str, Any] = {"_object": [bucket, key]}
    if url_field:
        marker["_url_field"] = url_field
    return marker
