"""Media actions: DescribeMediaInfos, SearchMedia, ModifyMediaInfo, DeleteMedia.

Native media rows are rendered as Tencent ``MediaInfo`` objects (only the ``Filters`` asked for).
"""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent.common import Call, Params, int_param, list_param, str_param
from openvod.errors import InvalidParameter
from openvod.services import media

__all__ = ["PART_TYPES", "delete_media_action", "describe_media_infos", "modify_media_info", "search_media"]

_FILTERS = {"basicInfo", "metaData", "transcodeInfo", "animatedGraphicsInfo", "imageSpriteInfo",
            "snapshotByTimeOffsetInfo", "sampleSnapshotInfo", "keyFrameDescInfo", "adaptiveDynamicStreamingInfo",
            "miniProgramReviewInfo", "subtitleInfo", "reviewInfo"}


def _num(v: Any, cast: type = int) -> Any:
    try:
        return cast(v) if v is not None else cast(0)
    except (TypeError, ValueError):
        return cast(0)


def _transcode_item(o: dict[str, Any]) -> dict[str, Any]:
    return {"Url": o.get("url"), "Definition": o.get("definition"), "Bitrate": _num(o.get("bitrate")),
            "Height": _num(o.get("height")), "Width": _num(o.get("width")), "Size": _num(o.get("size")),
            "Duration": _num(o.get("duration"), float), "Md5": o.get("md5") or "",
            "Container": o.get("container") or "", "VideoStreamSet": o.get("video_streams") or [],
            "AudioStreamSet": o.get("audio_streams") or []}


def _media_info(m: dict[str, Any], filters: set[str] | None) -> dict[str, Any]:
    def want(name: str) -> bool:
        return filters is None or name in filters

    outputs = m.get("outputs") or {}
    info: dict[str, Any] = {"FileId": m["file_id"]}
    if want("basicInfo"):
        source = m.get("source") or {}
        mtype = m.get("media_type") or ""
        category = {"video": "Video", "audio": "Audio", "image": "Image"}.get(mtype.lower(), "Video")
        info["BasicInfo"] = {
            "Name": m.get("name") or "", "Description": m.get("description") or "",
            "CreateTime": m.get("created_at") or "", "UpdateTime": m.get("updated_at") or "",
            "ExpireTime": m.get("expire_at") or "9999-12-31T23:59:59Z", "ClassId": m.get("class_id") or 0,
            "ClassName": "", "ClassPath": "", "CoverUrl": m.get("cover_url") or "",
            "Type": (source.get("key") or "").rsplit(".", 1)[-1].lower() if "." in (source.get("key") or "") else "",
            "MediaUrl": source.get("url") or m.get("play_url") or "",
            "SourceInfo": {"SourceType": "Upload", "SourceContext": m.get("source_context") or ""},
            "StorageRegion": "", "StoragePath": source.get("key") or "", "TagSet": [], "Category": category,
            "Status": "Normal" if m.get("state") in (None, "", "ready", "normal", "Normal") else str(m["state"]),
            "StorageClass": "STANDARD", "Vid": "",
        }
    if want("metaData"):
        info["MetaData"] = m.get("metadata")
    if want("transcodeInfo"):
        info["TranscodeInfo"] = {"TranscodeSet": [_transcode_item(o) for o in outputs.get("transcodes") or []]}
    if want("animatedGraphicsInfo"):
        info["AnimatedGraphicsInfo"] = {"AnimatedGraphicsSet": [
            {"Url": o.get("url"), "Definition": o.get("definition"), "Container": o.get("container") or "gif",
             "Height": _num(o.get("height")), "Width": _num(o.get("width")), "Bitrate": _num(o.get("bitrate")),
             "Size": _num(o.get("size")), "Md5": o.get("md5") or "",
             "StartTimeOffset": _num(o.get("start"), float), "EndTimeOffset": _num(o.get("end"), float)}
            for o in outputs.get("animated_graphics") or []]}
    if want("snapshotByTimeOffsetInfo"):
        by_def: dict[Any, list[dict[str, Any]]] = {}
        for o in outputs.get("snapshots") or []:
            by_def.setdefault(o.get("definition"), []).append(
                {"TimeOffset": _num(o.get("time_offset", o.get("offset")), float), "Url": o.get("url"),
                 "WaterMarkDefinition": []})
        info["SnapshotByTimeOffsetInfo"] = {"SnapshotByTimeOffsetSet": [
            {"Definition": d, "PicInfoSet": pics} for d, pics in by_def.items()]}
    if want("sampleSnapshotInfo"):
        grouped: dict[Any, list[str]] = {}
        for o in outputs.get("sample_snapshots") or []:
            grouped.setdefault(o.get("definition"), []).append(o.get("url"))
        info["SampleSnapshotInfo"] = {"SampleSnapshotSet": [
            {"Definition": d, "SampleType": "Percent", "Interval": 0, "ImageUrlSet": urls, "WaterMarkDefinition": []}
            for d, urls in grouped.items()]}
    if want("imageSpriteInfo"):
        info["ImageSpriteInfo"] = {"ImageSpriteSet": [
            {"Definition": o.get("definition"), "Height": _num(o.get("cell_height")),
             "Width": _num(o.get("cell_width")), "TotalCount": len(o.get("sheets") or []),
             "ImageUrlSet": o.get("sheets") or [], "WebVttUrl": o.get("url")}
            for o in outputs.get("image_sprites") or []]}
    if want("adaptiveDynamicStreamingInfo"):
        info["AdaptiveDynamicStreamingInfo"] = {"AdaptiveDynamicStreamingSet": [
            {"Definition": o.get("definition"), "Package": o.get("format") or "HLS",
             "DrmType": o.get("drm_type") or "", "Url": o.get("url"), "Size": _num(o.get("size"))}
            for o in outputs.get("adaptive_streams") or []]}
    return info


def describe_media_infos(c: Call) -> Params:
    ids = [str(x) for x in list_param(c.params, "FileIds")]
    if not 1 <= len(ids) <= 20:
        raise InvalidParameter("FileIds must list 1-20 file ids", code="InvalidParameterValue.FileIds")
    raw = list_param(c.params, "Filters")
    filters = set(raw) if raw else None
    if filters and not filters <= _FILTERS:
        raise InvalidParameter(f"unknown Filters {sorted(filters - _FILTERS)}", code="InvalidParameterValue.Filters")
    found, missing = media.describe_media(c.ctx, c.app_id, ids)
    return {"MediaInfoSet": [_media_info(m, filters) for m in found], "NotExistFileIdSet": missing}


def search_media(c: Call) -> Params:
    p = c.params
    offset, limit = int_param(p, "Offset", 0) or 0, int_param(p, "Limit", 10) or 10
    if offset < 0 or not 1 <= limit <= 100:
        raise InvalidParameter("Offset must be >= 0 and Limit 1-100", code="InvalidParameterValue.Limit")
    names = [n for n in list_param(p, "Names") if isinstance(n, str)]
    name = str_param(p, "Text") or (names[0] if names else None)
    class_ids = list_param(p, "ClassIds")
    first_class = int_param({"ClassIds": class_ids[0]}, "ClassIds") if class_ids else None
    class_id = int_param(p, "ClassId") if p.get("ClassId") is not None else first_class
    if list_param(p, "FileIds"):
        found, _missing = media.describe_media(c.ctx, c.app_id, [str(x) for x in list_param(p, "FileIds")])
        items: list[dict[str, Any]] = found
    else:
        items, marker = [], None
        while len(items) < offset + limit:
            page, marker = media.list_media(c.ctx, c.app_id, name=name, class_id=class_id, limit=100, marker=marker)
            items += page
            if marker is None:
                break
    filters = set(list_param(p, "Filters")) or None
    window = items[offset:offset + limit]
    return {"TotalCount": len(items) if len(items) < offset + limit else max(len(items), offset + limit),
            "MediaInfoSet": [_media_info(m, filters) for m in window]}


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
    return {"CoverUrl": m.get("cover_url") or "", "AddedSubtitleSet": []}


PART_TYPES = {"OriginalFiles": "source", "TranscodeFiles": "transcodes", "AnimatedGraphicsFiles": "animated_graphics",
               "SnapshotByTimeOffsetFiles": "snapshots", "SampleSnapshotFiles": "sample_snapshots",
               "ImageSpriteFiles": "image_sprites", "AdaptiveDynamicStreamingFiles": "adaptive_streams",
               "WechatPublishFiles": None, "WechatMiniProgramPublishFiles": None}


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
