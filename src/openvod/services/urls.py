"""URL markers: stored payloads name objects as ``{"_object": [bucket, key]}``; URLs (which are
signed and expire) are made only when a payload is read or sent."""

from __future__ import annotations

from typing import Any

from openvod.domain.markers import object_marker
from openvod.runtime import Context

__all__ = ["object_marker", "render"]


def render(ctx: Context, app_id: str, value: Any) -> Any:
    """Replace markers with fresh URLs: inside a dict, a marker adds its ``_url_field`` (default
    ``Url``); a dict that is only a marker becomes the URL string itself."""
    if isinstance(value, list):
        return [render(ctx, app_id, v) for v in value]
    if not isinstance(value, dict):
        return value
    if "_object" not in value and not any(isinstance(v, dict | list) for v in value.values()):
        return value
    from openvod.services.playback import url_for

    if set(value) == {"_object"}:
        return url_for(ctx, app_id, *value["_object"])
    out = {k: render(ctx, app_id, v) for k, v in value.items() if k not in ("_object", "_url_field")}
    if "_object" in value:
        out[value.get("_url_field", "Url")] = url_for(ctx, app_id, *value["_object"])
    return out
