"""Watermark template actions: Create/Describe/Modify/DeleteWatermarkTemplate, in Tencent's shapes.

They differ from the other template kinds' (``templates.py``): ``Type`` is the watermark's
(``image``/``text``), not Preset/Custom; Create and Modify answer the image's ``ImageUrl``; and the
list is ``WatermarkTemplateSet`` of ``WatermarkTemplate`` (``ImageTemplate`` with ``ImageUrl``,
never the image's storage key). Params are validated by :mod:`openvod.domain.templates.watermarks`.
"""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent.common import Action, Call, Params, int_param, list_param, str_param
from openvod.domain.times import iso_s
from openvod.domain.views.templates import TemplateView
from openvod.errors import InvalidParameter
from openvod.services import templates, watermarks

__all__ = ["WATERMARK_ACTIONS"]

_KIND = "Watermark"
_META = {"Name", "Comment", "SubAppId", "Definition"}


def _item(c: Call, t: TemplateView) -> dict[str, Any]:
    """One ``WatermarkTemplate``."""
    p = watermarks.public_params(c.ctx, c.app_id, t.params)
    return {"Definition": t.definition, "Type": p["Type"], "Name": t.name, "Comment": t.comment,
            "XPos": p["XPos"], "YPos": p["YPos"], "ImageTemplate": p.get("ImageTemplate"),
            "TextTemplate": p.get("TextTemplate"), "SvgTemplate": None, "CreateTime": iso_s(t.created_at),
            "UpdateTime": iso_s(t.updated_at), "CoordinateOrigin": p["CoordinateOrigin"]}


def _image_url(c: Call, t: TemplateView) -> str:
    image = watermarks.public_params(c.ctx, c.app_id, t.params).get("ImageTemplate") or {}
    return str(image.get("ImageUrl", ""))


def _definition(c: Call) -> int:
    d = int_param(c.params, "Definition")
    if d is None:
        raise InvalidParameter("Definition is required", code="MissingParameter.Definition")
    return d


def create_watermark(c: Call) -> Params:
    params = {k: v for k, v in c.params.items() if k not in _META}
    t = templates.create_template(c.ctx, c.app_id, _KIND, params, name=str_param(c.params, "Name", "") or "",
                                  comment=str_param(c.params, "Comment", "") or "")
    return {"Definition": t.definition, "ImageUrl": _image_url(c, t)}


def describe_watermarks(c: Call) -> Params:
    defs = list_param(c.params, "Definitions")
    page = watermarks.list_watermarks(c.ctx, c.app_id,
                                      definitions=[int_param({"Definitions": d}, "Definitions") or 0 for d in defs]
                                      if defs else None,
                                      type=str_param(c.params, "Type"), offset=int_param(c.params, "Offset", 0) or 0,
                                      limit=int_param(c.params, "Limit", 10) or 10)
    return {"TotalCount": page.total, "WatermarkTemplateSet": [_item(c, t) for t in page.items]}


def modify_watermark(c: Call) -> Params:
    d = _definition(c)
    changes = {k: v for k, v in c.params.items() if k not in _META}
    t = templates.update_template(c.ctx, c.app_id, _KIND, d, name=str_param(c.params, "Name"),
                                  comment=str_param(c.params, "Comment"), params=changes or None)
    new_image = isinstance(changes.get("ImageTemplate"), dict) and changes["ImageTemplate"].get("ImageContent")
    return {"ImageUrl": _image_url(c, t) if new_image else ""}


def delete_watermark(c: Call) -> Params:
    templates.delete_template(c.ctx, c.app_id, _KIND, _definition(c))
    return {}


WATERMARK_ACTIONS: dict[str, Action] = {
    "CreateWatermarkTemplate": create_watermark,
    "DescribeWatermarkTemplates": describe_watermarks,
    "ModifyWatermarkTemplate": modify_watermark,
    "DeleteWatermarkTemplate": delete_watermark,
}
