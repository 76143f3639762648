"""Watermark templates' images in storage: written when a template is made, deleted when unused.

    params = store_image(ctx, app_id, validate_watermark(raw))   # the PNG/JPEG into the app's bucket
    release_image(ctx, app_id, image_location(old_params))       # after a delete or a new image

An image is stored once per app and content (``watermarks/<sha256>.<png|jpg>`` in the default
bucket, ``object`` role ``Watermark``), so templates with the same image share it; deleting or
re-imaging a template deletes its image once no other template of the app uses it. A task that
was queued before then and still names it fails with ``ResourceNotFound.Object`` (the task copied
the template's params, as every task does, but not the image bytes).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from openvod.db.models import Template
from openvod.domain.templates.watermarks import IMAGE_KEY, image_format, take_image
from openvod.runtime import Context
from openvod.services import objects
from openvod.services.media import physical
from openvod.services.playback import url_for

__all__ = ["ROLE", "image_location", "public_params", "release_image", "store_image"]

ROLE = "Watermark"
_KIND = "Watermark"
_EXT = {"png": "png", "jpeg": "jpg"}

def image_location(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """The physical (bucket, key) of a stored watermark template's image, or ``None`` (text)."""
    image = params.get("ImageTemplate")
    where = image.get(IMAGE_KEY) if isinstance(image, Mapping) else None
    return (str(where[0]), str(where[1])) if isinstance(where, list | tuple) and len(where) == 2 else None


def store_image(ctx: Context, app_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` (canonical, from ``validate_watermark``/``merge_watermark``) with a new image
    written to the app's bucket and named by its key instead of carried as base64."""
    data, out = take_image(params)
    if data is None:
        return out
    fmt = image_format(data)
    assert fmt is not None  # the validator checked the signature
    bucket, key = physical(app_id, ctx.settings.default_bucket,
                           f"watermarks/{hashlib.sha256(data).hexdigest()}.{_EXT[fmt]}")
    if not ctx.storage.exists(bucket, key):
        ctx.storage.ensure_bucket(bucket)
        stat = ctx.storage.put(bucket, key, io.BytesIO(data), content_type=f"image/{fmt}")
        objects.register_object(ctx, app_id, stat, role=ROLE)
    out["ImageTemplate"] = {**out["ImageTemplate"], IMAGE_KEY: [bucket, key]}
    return out


def release_image(ctx: Context, app_id: str, location: tuple[str, str] | None) -> None:
    """Delete the image at ``location`` (from :func:`image_location`) unless a watermark template
    of the app still uses it."""
    if location is None:
        return
    with ctx.db.session() as s:
        rows = s.scalars(select(Template.params).where(Template.app_id == app_id, Template.kind == _KIND))
        if any(image_location(p) == location for p in rows):
            return
    bucket, key = location
    if ctx.storage.exists(bucket, key):
        ctx.storage.delete(bucket, key)
    objects.unregister_object(ctx, app_id, bucket, key)


def public_params(ctx: Context, app_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as Tencent's ``WatermarkTemplate`` shows them: the image as ``ImageUrl`` (signed
    for a private app, as other object URLs are), never its storage key."""
    out = dict(params)
    image = out.get("ImageTemplate")
    if isinstance(image, Mapping):
        where = image_location(out)
        out["ImageTemplate"] = {**{k: v for k, v in image.items() if k != IMAGE_KEY},
                                "ImageUrl": url_for(ctx, app_id, *where) if where else ""}
    return out
