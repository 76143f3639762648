"""Tencent VOD's wire shapes of the media library, rendered from the read models: ``MediaInfo``
(DescribeMediaInfos, SearchMedia), event payloads (PullEvents) and the COS upload flow's answers
(ApplyUpload, CommitUpload). Tencent's key names for these resources live here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent import shapes
from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.events import EventView
from openvod.domain.views.media import MediaView, OutputView
from openvod.domain.views.uploads import CosUploadGrant, CosUploadResult

__all__ = ["FILTERS", "PART_TYPES", "apply_upload", "commit_upload", "event_content", "media_info"]

# DescribeMediaInfos' Filters: which parts of a MediaInfo to answer with.
FILTERS = frozenset({"basicInfo", "metaData", "transcodeInfo", "animatedGraphicsInfo", "imageSpriteInfo",
                     "snapshotByTimeOffsetInfo", "sampleSnapshotInfo", "keyFrameDescInfo",
                     "adaptiveDynamicStreamingInfo", "miniProgramReviewInfo", "subtitleInfo", "reviewInfo"})

# DeleteMedia's part types and the native delete parts they name (None: nothing stored to delete).
PART_TYPES: dict[str, str | None] = {
    "OriginalFiles": "source", "TranscodeFiles": "transcodes", "AnimatedGraphicsFiles": "animated_graphics",
    "SnapshotByTimeOffsetFiles": "snapshots", "SampleSnapshotFiles": "sample_snapshots",
    "ImageSpriteFiles": "image_sprites", "AdaptiveDynamicStreamingFiles": "adaptive_streams",
    "WechatPublishFiles": None, "WechatMiniProgramPublishFiles": None}

_EVENT_FIELD = {"NewFileUpload": "FileUploadEvent", "ProcedureStateChanged": "ProcedureStateChangeEvent",
                "FileDeleted": "FileDeleteEvent", "PullComplete": "PullCompleteEvent"}
_NORMAL_STATES = ("", "ready", "normal", "Normal")
_NO_EXPIRY = "9999-12-31T23:59:59Z"


def _num(v: Any, cast: type = int) -> Any:
    """``v`` as a number of type ``cast``; 0 when missing or not a number."""
    try:
        return cast(v) if v is not None else cast(0)
    except (TypeError, ValueError):
        return cast(0)


def _transcode_item(o: OutputView) -> dict[str, Any]:
    i = o.info
    return {"Url": o.url, "Definition": o.definition, "Bitrate": _num(i.get("bitrate")),
            "Height": _num(i.get("height")), "Width": _num(i.get("width")), "Size": _num(o.size),
            "Duration": _num(i.get("duration"), float), "Md5": i.get("md5") or "",
            "Container": i.get("container") or "", "VideoStreamSet": i.get("video_streams") or [],
            "AudioStreamSet": i.get("audio_streams") or []}


def _animated_item(o: OutputView) -> dict[str, Any]:
    i = o.info
    return {"Url": o.url, "Definition": o.definition, "Container": i.get("container") or "gif",
            "Height": _num(i.get("height")), "Width": _num(i.get("width")), "Bitrate": _num(i.get("bitrate")),
            "Size": _num(o.size), "Md5": i.get("md5") or "",
            "StartTimeOffset": _num(i.get("start"), float), "EndTimeOffset": _num(i.get("end"), float)}


def _basic_info(m: MediaView) -> dict[str, Any]:
    source_key = m.source.key if m.source is not None else ""
    category = {"video": "Video", "audio": "Audio", "image": "Image"}.get(m.media_type.lower(), "Video")
    return {
        "Name": m.name or "", "Description": m.description or "",
        "CreateTime": iso_s(m.created_at), "UpdateTime": iso_s(m.updated_at),
        "ExpireTime": iso_s_or_none(m.expire_at) or _NO_EXPIRY, "ClassId": m.class_id or 0,
        "ClassName": "", "ClassPath": "", "CoverUrl": m.cover_url or "",
        "Type": source_key.rsplit(".", 1)[-1].lower() if "." in source_key else "",
        "MediaUrl": (m.source.url if m.source is not None else "") or m.play_url or "",
        "SourceInfo": {"SourceType": "Upload", "SourceContext": m.source_context or ""},
        "StorageRegion": "", "StoragePath": source_key, "TagSet": [], "Category": category,
        "Status": "Normal" if m.state in _NORMAL_STATES else str(m.state),
        "StorageClass": "STANDARD", "Vid": "",
    }


def media_info(m: MediaView, filters: set[str] | None) -> dict[str, Any]:
    """A ``MediaInfo`` with only the parts ``filters`` asks for (all without filters)."""
    def want(name: str) -> bool:
        return filters is None or name in filters

    out = m.outputs
    info: dict[str, Any] = {"FileId": m.file_id}
    if want("basicInfo"):
        info["BasicInfo"] = _basic_info(m)
    if want("metaData"):
        info["MetaData"] = shapes.metadata(dict(m.metadata)) if m.metadata is not None else None
    if want("transcodeInfo"):
        info["TranscodeInfo"] = {"TranscodeSet": [_transcode_item(o) for o in out.transcodes]}
    if want("animatedGraphicsInfo"):
        info["AnimatedGraphicsInfo"] = {"AnimatedGraphicsSet": [_animated_item(o) for o in out.animated_graphics]}
    if want("snapshotByTimeOffsetInfo"):
        by_def: dict[int | None, list[dict[str, Any]]] = {}
        for o in out.snapshots:
            by_def.setdefault(o.definition, []).append(
                {"TimeOffset": _num(o.info.get("time_offset", o.info.get("offset")), float), "Url": o.url,
                 "WaterMarkDefinition": []})
        info["SnapshotByTimeOffsetInfo"] = {"SnapshotByTimeOffsetSet": [
            {"Definition": d, "PicInfoSet": pics} for d, pics in by_def.items()]}
    if want("sampleSnapshotInfo"):
        grouped: dict[int | None, list[str]] = {}
        for o in out.sample_snapshots:
            grouped.setdefault(o.definition, []).append(o.url)
        info["SampleSnapshotInfo"] = {"SampleSnapshotSet": [
            {"Definition": d, "SampleType": "Percent", "Interval": 0, "ImageUrlSet": urls, "WaterMarkDefinition": []}
            for d, urls in grouped.items()]}
    if want("imageSpriteInfo"):
        info["ImageSpriteInfo"] = {"ImageSpriteSet": [
            {"Definition": o.definition, "Height": _num(o.info.get("cell_height")),
             "Width": _num(o.info.get("cell_width")), "TotalCount": len(o.sheets or ()),
             "ImageUrlSet": list(o.sheets or ()), "WebVttUrl": o.url}
            for o in out.image_sprites]}
    if want("adaptiveDynamicStreamingInfo"):
        info["AdaptiveDynamicStreamingInfo"] = {"AdaptiveDynamicStreamingSet": [
            {"Definition": o.definition, "Package": o.info.get("format") or "HLS",
             "DrmType": o.info.get("drm_type") or o.info.get("drm") or "", "Url": o.url, "Size": _num(o.size),
             "SubStreamSet": shapes.sub_streams(o.info.get("rungs"))}
            for o in out.adaptive_streams]}
    return info


def _delete_parts(stored: list[Any]) -> list[dict[str, Any]]:
    types = {v: k for k, v in PART_TYPES.items() if v}
    parts = []
    for part in stored:
        n, _, d = str(part).partition(":")
        if n in types:
            definition = int(d) if d.isascii() and d.isdigit() and len(d) <= 19 else 0
            parts.append({"Type": types[n], "Definition": definition})
    return parts


def _uploaded_basic_info(payload: dict[str, Any]) -> dict[str, Any]:
    """A ``MediaBasicInfo`` from what the NewFileUpload event stored, for a file deleted since."""
    basic = payload.get("MediaBasicInfo") or {}
    return {
        "Name": basic.get("Name") or "", "Description": "", "CreateTime": "", "UpdateTime": "",
        "ExpireTime": _NO_EXPIRY, "ClassId": basic.get("ClassId") or 0, "ClassName": "", "ClassPath": "",
        "CoverUrl": "", "Type": "", "MediaUrl": "",
        "SourceInfo": {"SourceType": "Upload", "SourceContext": payload.get("SourceContext") or ""},
        "StorageRegion": "", "StoragePath": "", "TagSet": [], "Vid": "",
        "Category": {"video": "Video", "audio": "Audio", "image": "Image"}.get(str(basic.get("Type")).lower(), "Video"),
        "Status": "Normal", "StorageClass": "STANDARD",
    }


def event_content(e: EventView, media: MediaView | None = None) -> dict[str, Any]:
    """An item of PullEvents' ``EventSet``: the handle, the type and the payload under its Tencent key.

    A ``NewFileUpload``'s ``MediaBasicInfo`` is the file's, as DescribeMediaInfos shows it, when
    ``media`` (the uploaded file, as it is now) is given; else what the event stored."""
    etype, payload = e.type, dict(e.payload or {})
    if etype == "NewFileUpload":
        payload = {"FileId": payload.get("FileId"),
                   "MediaBasicInfo": _basic_info(media) if media is not None else _uploaded_basic_info(payload),
                   "ProcedureTaskId": payload.get("ProcedureTaskId") or "", "ReviewAudioVideoTaskId": "",
                   "MetaData": shapes.metadata(payload.get("MetaData"))}
    elif etype == "ProcedureStateChanged":
        payload = shapes.procedure_task(payload)
    elif etype == "FileDeleted":
        parts = _delete_parts(payload.get("DeleteParts") or [])
        payload = {"FileIdSet": payload.get("FileIdSet") or [], "FileDeleteResultInfo": [
            {"FileId": fid, "DeleteParts": parts} for fid in payload.get("FileIdSet") or []]}
    return {"EventHandle": e.event_handle, "EventType": etype, _EVENT_FIELD.get(etype, f"{etype}Event"): payload}


def apply_upload(g: CosUploadGrant) -> dict[str, Any]:
    """ApplyUpload's answer."""
    return {
        "StorageBucket": g.bucket,
        "StorageRegion": g.region,
        "VodSessionKey": g.session_key,
        "MediaStoragePath": g.media_path,
        "CoverStoragePath": g.cover_path,
        "TempCertificate": {"SecretId": g.secret_id, "SecretKey": g.secret_key, "Token": g.token,
                            "ExpiredTime": g.expires},
    }


def commit_upload(r: CosUploadResult) -> dict[str, Any]:
    """CommitUpload's answer."""
    return {"FileId": r.file_id, "MediaUrl": r.media_url, "CoverUrl": r.cover_url}
