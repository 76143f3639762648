"""Watermark templates as Tencent's ``DescribeWatermarkTemplates`` lists them.

Watermark templates are templates of kind ``Watermark``: :mod:`openvod.services.templates` creates,
changes and deletes them (numbered like the others; the image goes through
:mod:`openvod.services.watermark_images`). Tencent filters its list by watermark ``Type``::

    page = list_watermarks(ctx, app_id, type="image", offset=0, limit=10)
    public_params(ctx, app_id, page.items[0].params)["ImageTemplate"]["ImageUrl"]
"""

from __future__ import annotations

from collections.abc import Iterable

from openvod.domain.views.templates import TemplatePage
from openvod.errors import InvalidParameter
from openvod.runtime import Context
from openvod.services import templates
from openvod.services.watermark_images import public_params

__all__ = ["WATERMARK_TYPES", "list_watermarks", "public_params"]

WATERMARK_TYPES = ("image", "text")
_KIND = "Watermark"


def list_watermarks(ctx: Context, app_id: str, *, definitions: Iterable[int] | None = None, type: str | None = None,
                    offset: int = 0, limit: int = templates.DEFAULT_LIMIT) -> TemplatePage:
    """A page of the app's watermark templates by Definition, as ``DescribeWatermarkTemplates``
    filters them: ``type`` ``image`` or ``text`` (``svg`` finds none: OpenVOD makes none)."""
    wanted = None
    if type:
        wanted = next((t for t in (*WATERMARK_TYPES, "svg") if isinstance(type, str) and t == type.strip().lower()),
                      None)
        if wanted is None:
            raise InvalidParameter(f"Type must be image, text or svg, got {type!r}", code="InvalidParameterValue.Type")
    if wanted is None:
        return templates.list_templates(ctx, app_id, _KIND, definitions=definitions, offset=offset, limit=limit)
    if offset < 0 or not 1 <= limit <= templates.MAX_LIMIT:
        raise InvalidParameter(f"Offset must be from 0 and Limit from 1 to {templates.MAX_LIMIT}, got {offset}, "
                               f"{limit}", code="InvalidParameterValue.Limit")
    every = templates.list_templates(ctx, app_id, _KIND, definitions=definitions, offset=0, limit=templates.MAX_LIMIT)
    items = list(every.items)
    while len(items) < every.total:  # apps have few watermark templates; filtering by Type pages here
        items += templates.list_templates(ctx, app_id, _KIND, definitions=definitions, offset=len(items),
                                          limit=templates.MAX_LIMIT).items
    kept = [t for t in items if t.params.get("Type") == wanted]
    return TemplatePage(items=tuple(kept[offset:offset + limit]), total=len(kept))
