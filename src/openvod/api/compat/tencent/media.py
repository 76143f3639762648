"""Media actions: DescribeMediaInfos, SearchMedia, ModifyMediaInfo, DeleteMedia.

Native media rows are rendered as Tencent ``MediaInfo`` objects (only the ``Filters`` asked for).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openvod.api.compat.tencent.common import MAX_ITEMS, Call, Params, int_param, list_param, obj_param, str_param
from openvod.api.compat.tencent.library_render import FILTERS, PART_TYPES, media_info
from openvod.domain.media_sort import SortOrder
from openvod.domain.times import utc
from openvod.errors import InvalidParameter, Unimplemented
from openvod.services import media
from openvod.services.media_list import MediaQuery

__all__ = ["PART_TYPES", "delete_media_action", "describe_media_infos", "modify_media_info", "search_media"]


def describe_media_infos(c: Call) -> Params:
    ids = [str(x) for x in list_param(c.params, "FileIds")]
    if not 1 <= len(ids) <= 20:
        raise InvalidParameter("FileIds must list 1-20 file ids", code="InvalidParameterValue.FileIds")
    filters = _filters(c.params)
    found, missing = media.describe_media(c.ctx, c.app_id, ids)
    return {"MediaInfoSet": [media_info(m, filters) for m in found], "NotExistFileIdSet": missing}


# SearchMediaRequest's parameters (tencentcloud-sdk-python, vod v20180717) OpenVOD does not search
# by: refused when given, never ignored, for a filter dropped would answer with media it excludes.
_UNSUPPORTED = {
    "Tags": "OpenVOD media have no tags",
    "StorageRegions": "OpenVOD keeps every media in one storage (MediaInfo's StorageRegion is empty)",
    "StorageClasses": "OpenVOD has one storage class",
    "MediaTypes": "OpenVOD does not index media by container format",
    "Status": "OpenVOD does not search by status",
    "ReviewResults": "OpenVOD does not review media",
    "TrtcSdkAppIds": "OpenVOD records no TRTC rooms",
    "TrtcRoomIds": "OpenVOD records no TRTC rooms",
    "KnowledgeBases": "OpenVOD has no knowledge bases",
}
_SEARCHED = frozenset({
    "SubAppId", "FileIds", "Names", "NamePrefixes", "Descriptions", "Text", "ClassIds", "ClassId", "Categories",
    "SourceTypes", "SourceType", "StreamIds", "StreamId", "Vids", "Vid", "StreamDomains", "StreamPaths",
    "CreateTime", "StartTime", "EndTime", "ExpireTime", "Sort", "Filters", "Offset", "Limit"})
_CATEGORIES = {"Video": "video", "Audio": "audio", "Image": "image"}
# MediaSourceData.SourceType: OpenVOD makes media from uploads only (tus, COS, PullUpload), which
# MediaInfo shows as "Upload".
_SOURCE_TYPES = frozenset({"Record", "Upload", "VideoProcessing", "TrtcRecord", "WebPageRecord", "Unknown"})
_ORDERS = {"Desc": SortOrder.DESC, "Asc": SortOrder.ASC}


def _given(v: Any) -> bool:
    return v not in (None, "", [], {})


def _refuse_unsupported(p: Params) -> None:
    for key, value in p.items():
        if not _given(value) or key in _SEARCHED:
            continue
        if key in _UNSUPPORTED:
            raise Unimplemented(f"SearchMedia does not take {key}: {_UNSUPPORTED[key]}", code="UnsupportedOperation")
        raise InvalidParameter(f"SearchMedia has no parameter {key[:64]!r}", code="UnknownParameter")


def _strings(p: Params, key: str, *, most: int = 10, longest: int = 100) -> tuple[str, ...]:
    items = list_param(p, key, max_items=most)
    if not all(isinstance(v, str) and len(v) <= longest for v in items):
        raise InvalidParameter(f"{key} takes at most {most} strings of at most {longest} characters",
                               code=f"InvalidParameterValue.{key}")
    return tuple(v for v in items if v)


def _one_string(p: Params, key: str) -> tuple[str, ...]:
    v = str_param(p, key)
    return (v,) if v else ()


def _class_ids(p: Params) -> tuple[int, ...]:
    ids = [int_param({"ClassIds": v}, "ClassIds") for v in list_param(p, "ClassIds", max_items=10)]
    if None in ids:
        raise InvalidParameter("ClassIds takes at most 10 integers", code="InvalidParameterValue.ClassIds")
    return tuple(i for i in ids if i is not None)


def _categories(p: Params) -> tuple[str, ...]:
    words = _strings(p, "Categories")
    if not set(words) <= set(_CATEGORIES):
        raise InvalidParameter(f"Categories are {', '.join(_CATEGORIES)}, got {list(words)}",
                               code="InvalidParameterValue.Categories")
    return tuple(_CATEGORIES[w] for w in words)


def _uploaded(p: Params) -> bool | None:
    """Whether the media must have come in by upload (every media has), from SourceTypes and
    the older SourceType; None when neither is given."""
    given = {key: types for key, types in (("SourceTypes", _strings(p, "SourceTypes")),
                                           ("SourceType", _one_string(p, "SourceType"))) if types}
    for key, types in given.items():
        if not set(types) <= _SOURCE_TYPES:
            raise InvalidParameter(f"{key} must be among {', '.join(sorted(_SOURCE_TYPES))}, got {list(types)}",
                                   code=f"InvalidParameterValue.{key}")
    return all("Upload" in types for types in given.values()) if given else None


def _moment(v: Any, key: str) -> datetime | None:
    if v is None or v == "":
        return None
    try:
        if not isinstance(v, str) or len(v) > 64:
            raise ValueError(v)
        return utc(datetime.fromisoformat(v))  # without an offset: UTC
    except (ValueError, OverflowError):
        raise InvalidParameter(f"{key} {str(v)[:64]!r} is not an ISO 8601 time of the years 1-9999 "
                               "(2024-05-01T12:00:00Z)", code=f"InvalidParameterValue.{key}") from None


def _time_range(p: Params, key: str, after_key: str = "", before_key: str = "") -> tuple[datetime | None,
                                                                                          datetime | None]:
    """Tencent's TimeRange ``key``: After (inclusive) and Before (exclusive); the older single
    parameters ``after_key`` and ``before_key`` stand in for a bound it lacks."""
    r = obj_param(p, key) or {}
    after = _moment(r.get("After"), key) or (_moment(p.get(after_key), after_key) if after_key else None)
    before = _moment(r.get("Before"), key) or (_moment(p.get(before_key), before_key) if before_key else None)
    if after is not None and before is not None and after > before:
        raise InvalidParameter(f"{key}: After {after.isoformat()} is later than Before {before.isoformat()}",
                               code=f"InvalidParameterValue.{key}")
    return after, before


def _order(p: Params) -> SortOrder:
    sort = obj_param(p, "Sort") or {}
    if not sort:
        return SortOrder.DESC
    order = sort.get("Order") or "Desc"
    if sort.get("Field") != "CreateTime" or order not in _ORDERS:
        raise InvalidParameter(f"Sort must be Field CreateTime, Order Asc or Desc, got {str(sort)[:80]}",
                               code="InvalidParameterValue.Sort")
    return _ORDERS[order]


def _search_query(p: Params) -> MediaQuery:
    _refuse_unsupported(p)
    class_id = int_param(p, "ClassId")  # the older form of ClassIds: both given, both apply
    created = _time_range(p, "CreateTime", "StartTime", "EndTime")
    expires = _time_range(p, "ExpireTime")
    # OpenVOD records no live stream, so no media has a stream id, a Vid (the id of a live
    # recording), a stream domain or path: any of these matches no media.
    streams = (*_strings(p, "StreamIds"), *_one_string(p, "StreamId"), *_strings(p, "Vids"), *_one_string(p, "Vid"),
               *_strings(p, "StreamDomains", most=MAX_ITEMS, longest=256),
               *_strings(p, "StreamPaths", most=MAX_ITEMS, longest=256))
    return MediaQuery(
        order=_order(p), text=str_param(p, "Text") or None, names=_strings(p, "Names"),
        prefixes=_strings(p, "NamePrefixes"), descriptions=_strings(p, "Descriptions"),
        file_ids=_strings(p, "FileIds", longest=40), class_id=class_id, class_ids=_class_ids(p),
        categories=_categories(p), created_from=created[0], created_to=created[1], expire_from=expires[0],
        expire_to=expires[1], uploaded=_uploaded(p), streams=streams)


def _filters(p: Params) -> set[str] | None:
    filters = {str(f) for f in list_param(p, "Filters")} or None
    if filters and not filters <= FILTERS:
        raise InvalidParameter(f"unknown Filters {sorted(filters - FILTERS)}", code="InvalidParameterValue.Filters")
    return filters


def search_media(c: Call) -> Params:
    """SearchMedia: every filter given applies (each list: any of its items), or the call is refused."""
    p = c.params
    offset, limit = int_param(p, "Offset", 0) or 0, int_param(p, "Limit", 10) or 10
    query, filters = _search_query(p), _filters(p)
    items, total = media.search_media(c.ctx, c.app_id, query, offset=offset, limit=limit)
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
        # As SearchMedia reads times (_moment): without an offset, UTC
        kw["expire_at"] = _moment(str_param(p, "ExpireTime") or "-", "ExpireTime")
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
