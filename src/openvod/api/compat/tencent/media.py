"""Media actions: DescribeMediaInfos, SearchMedia, ModifyMediaInfo, DeleteMedia.

Native media rows are rendered as Tencent ``MediaInfo`` objects (only the ``Filters`` asked for).
"""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent.common import Call, Params, int_param, list_param, str_param
from openvod.api.compat.tencent.library_render import FILTERS, PART_TYPES, media_info
from openvod.errors import InvalidParameter
from openvod.services import media

__all__ = ["PART_TYPES", "delete_media_action", "describe_media_infos", "modify_media_info", "search_media"]


def describe_media_infos(c: Call) -> Params:
    ids = [str(x) for x in list_param(c.params, "FileIds")]
    if not 1 <= len(ids) <= 20:
        raise InvalidParameter("FileIds must list 1-20 file ids", code="InvalidParameterValue.FileIds")
    raw = list_param(c.params, "Filters")
    filters = set(raw) if raw else None
    if filters and not filters <= FILTERS:
        raise InvalidParameter(f"unknown Filters {sorted(filters - FILTERS)}", code="InvalidParameterValue.Filters")
    found, missing = media.describe_media(c.ctx, c.app_id, ids)
    return {"MediaInfoSet": [media_info(m, filters) for m in found], "NotExistFileIdSet": missing}


def search_media(c: Call) -> Params:
    p = c.params
    offset, limit = int_param(p, "Offset", 0) or 0, int_param(p, "Limit", 10) or 10
    names = tuple(n for n in list_param(p, "Names") if isinstance(n, str) and n)
    prefixes = tuple(n for n in list_param(p, "NamePrefixes") if isinstance(n, str) and n)
    if len(names) > 10 or len(prefixes) > 10 or any(len(n) > 100 for n in (*names, *prefixes)):
        raise InvalidParameter("Names and NamePrefixes take at most 10 strings of at most 100 characters",
                               code="InvalidParameterValue.Names")
    text = str_param(p, "Text") or None  # the name or the description
    class_ids = list_param(p, "ClassIds")
    first_class = int_param({"ClassIds": class_ids[0]}, "ClassIds") if class_ids else None
    class_id = int_param(p, "ClassId") if p.get("ClassId") is not None else first_class
    filters = set(list_param(p, "Filters")) or None
    if list_param(p, "FileIds"):
        found, _missing = media.describe_media(c.ctx, c.app_id, [str(x) for x in list_param(p, "FileIds")])
        window = found[offset:offset + limit]
        return {"TotalCount": len(found), "MediaInfoSet": [media_info(m, filters) for m in window]}
    items, total = media.search_media(c.ctx, c.app_id, offset=offset, limit=limit, text=text, names=names,
                                      prefixes=prefixes, class_id=class_id)
    return {"TotalCount": total, "MediaInfoSet": [media_info(m, filters) for m in items]}


def modify_media_info(c: Call) -> Params:
    p = c.params
    fid = str_param(p, "FileId", required=True)
    assert fid is not None
    kw: dict[str, Any] = {}
    if p.get("Name") is not None:
        kw["name"] = str_param(p, "Name")
    if p.get("Description") is not None:
        kw["description"] = p["Description"]
    if p.get("ClassId") is not None:
        kw["class_id"] = int_param(p, "ClassId")
    if p.get("ExpireTime") is not None:
        from datetime import datetime
        raw = str_param(p, "ExpireTime") or ""
        try:
            kw["expire_at"] = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidParameter(f"ExpireTime {raw!r} is not ISO 8601", code="InvalidParameterValue.ExpireTime") \
                from exc
    m = media.modify_media(c.ctx, c.app_id, fid, **kw)
    return {"CoverUrl": m.cover_url or "", "AddedSubtitleSet": []}


def delete_media_action(c: Call) -> Params:
    fid = str_param(c.params, "FileId", required=True)
    assert fid is not None
    parts: list[str] = []
    for item in list_param(c.params, "DeleteParts"):
        if not isinstance(item, dict) or item.get("Type") not in PART_TYPES:
            raise InvalidParameter(f"DeleteParts item {item!r} has an unknown Type",
                                   code="InvalidParameterValue.DeleteParts")
        native = PART_TYPES[item["Type"]]
        if native is None:
            continue
        definition = int_param(item, "Definition", 0)
        parts.append(f"{native}:{definition}" if definition and native != "source" else native)
    media.delete_media(c.ctx, c.app_id, fid, parts or None)
    return {}
