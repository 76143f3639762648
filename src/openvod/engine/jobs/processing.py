"""The steps of processing tasks (Tencent's MediaProcessTask kinds).

Each step gets its template's params (Tencent field names, defaults filled in by
``domain.templates``) and its own settings, runs one FFmpeg plan from ``media/``, publishes the
files under ``media/{FileId}/{Kind}/{Definition}/`` and returns its ``Output`` in Tencent's shape
with URL markers (signed when the task detail is read).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

from openvod.db.models import Media
from openvod.domain.markers import object_marker
from openvod.domain.presets import parse_params
from openvod.domain.templates import time_points
from openvod.domain.templates.loudness import ladder_volume_balance, volume_balance
from openvod.engine.jobs import JobContext, register
from openvod.engine.jobs.adaptive import LadderSource, run_ladder
from openvod.engine.jobs.loudness import Leveler
from openvod.engine.jobs.per_title import tune_rungs
from openvod.engine.jobs.publish import publish
from openvod.engine.jobs.watermarks import step_watermarks
from openvod.errors import MediaError
from openvod.media.animated import AnimatedGraphicsSpec, build_animated
from openvod.media.common import Plan
from openvod.media.inputs import MediaInput, MediaLimits
from openvod.media.ladder import AdaptiveStreamingSpec, HlsEncryption, LadderOutputs, Rung
from openvod.media.probe import metadata_summary, probe
from openvod.media.snapshots import (
    CoverBySnapshotSpec,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    build_cover,
    build_sample_snapshots,
    build_snapshots_by_offset,
)
from openvod.media.sprites import ImageSpritesSpec, build_sprites, webvtt_for_sprites
from openvod.media.transcode import SourceInfo, build_transcode_args


@dataclass
class _Source:
    bucket: str
    key: str
    file_id: str
    info: SourceInfo
    prefix: str  # "{app}/media/{FileId}/"


def _source(job: JobContext) -> _Source:
    src = job.input["source"]
    info = src.get("probe")
    if not info:
        with job.ctx.storage.local_path(src["bucket"], src["key"]) as path:
            info = probe(path, timeout=job.ctx.settings.probe_timeout,
                         limits=MediaLimits.from_settings(job.ctx.settings))
    return _Source(src["bucket"], src["key"], src["file_id"], SourceInfo.from_probe(info),
                   src["key"].rsplit("/", 1)[0] + "/")


@contextmanager
def _run(job: JobContext, src: _Source, build: Callable[[MediaInput], Plan[Any]],
         progress: Callable[[float], None] | None = None) -> Any:
    """Run ``build(input)``'s plan with progress (``progress``, else the job's) and cancellation;
    yields the plan. FFmpeg reads the source where it lies: the file on local storage, a presigned
    URL on S3 (range requests: a worker never holds the source on its disk, however large)."""
    with job.source(src.bucket, src.key) as source:
        plan = build(source)
        job.run_ffmpeg(plan.args, duration=plan.duration, on_progress=progress)
        yield plan


def _out(job: JobContext) -> Path:
    d = job.workdir / "out"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _frame(tpl: dict[str, Any]) -> dict[str, Any]:
    return {"width": int(tpl.get("Width", 0)), "height": int(tpl.get("Height", 0)),
            "resolution_adaptive": tpl.get("ResolutionAdaptive", "open") == "open"}


def _fill(tpl: dict[str, Any]) -> Literal["black", "stretch"]:
    return "stretch" if tpl.get("FillType") == "stretch" else "black"


def _offset(value: float | None, duration: float | None) -> float | None:
    """Tencent offsets: seconds, negative counts back from the end."""
    if value is None:
        return None
    if value < 0 and duration:
        return max(0.0, duration + value)
    return float(value)


def _definition(job: JobContext) -> int:
    return int(job.input["definition"])


@register("AnimatedGraphics")
def animated_graphics(job: JobContext) -> dict[str, Any]:
    src, tpl, step = _source(job), job.input["template"], job.input["step"]
    start = _offset(step.get("StartTimeOffset"), src.info.duration) or 0.0
    end = _offset(step.get("EndTimeOffset"), src.info.duration)
    spec = AnimatedGraphicsSpec(format=tpl.get("Format", "gif"), fps=int(tpl.get("Fps") or 10), start=start,
                                end=end if end and end > start else None, quality=int(tpl.get("Quality", 75)),
                                **_frame(tpl))
    with _run(job, src, lambda p: build_animated(spec, p, src.info, _out(job))) as plan:
        out = plan.outputs
    key = f"{src.prefix}AnimatedGraphics/{_definition(job)}/{out.start:g}-{out.end:g}.{spec.format}"
    info = {"width": out.width, "height": out.height, "start": out.start, "end": out.end, "container": spec.format}
    (stat,) = publish(job, src.bucket, [(out.path, key)], role="AnimatedGraphics", media_id=src.file_id,
                      definition=_definition(job), info=[info])
    length = max(out.end - out.start, 0.001)
    return {**object_marker(src.bucket, key), "Definition": _definition(job), "Container": spec.format,
            "Height": out.height, "Width": out.width, "Bitrate": int(stat.size * 8 / length), "Size": stat.size,
            "Md5": _md5(out.path), "StartTimeOffset": out.start, "EndTimeOffset": out.end}


def _image_files(src: _Source, kind: str, definition: int, images: Any) -> list[tuple[Path, str]]:
    files = list(dict.fromkeys(img.path for img in images))
    return [(p, f"{src.prefix}{kind}/{definition}/{p.name}") for p in files]


@register("SnapshotByTimeOffset")
def snapshot_by_time_offset(job: JobContext) -> dict[str, Any]:
    src, tpl, step = _source(job), job.input["template"], job.input["step"]
    duration = src.info.duration or 0.0
    offsets = tuple(p.at(duration) for p in time_points(step))
    spec = SnapshotByTimeOffsetSpec(offsets=offsets, format=tpl.get("Format", "jpg"), fill=_fill(tpl), **_frame(tpl))
    with _run(job, src, lambda p: build_snapshots_by_offset(spec, p, src.info, _out(job))) as plan:
        out = plan.outputs
    files = _image_files(src, "SnapshotByTimeOffset", _definition(job), out.images)
    info = [{"width": out.width, "height": out.height}] * len(files)
    publish(job, src.bucket, files, role="SnapshotByTimeOffset", media_id=src.file_id,
            definition=_definition(job), info=info)
    keys = {p: k for p, k in files}
    return {"Definition": _definition(job), "PicInfoSet": [
        {"TimeOffset": int(round(img.offset * 1000)), **object_marker(src.bucket, keys[img.path]),
         "WaterMarkDefinition": []} for img in out.images]}


@register("SampleSnapshot")
def sample_snapshot(job: JobContext) -> dict[str, Any]:
    src, tpl = _source(job), job.input["template"]
    spec = SampleSnapshotSpec(sample_type=tpl["SampleType"], interval=float(tpl["SampleInterval"]),
                              format=tpl.get("Format", "jpg"), fill=_fill(tpl), **_frame(tpl))
    with _run(job, src, lambda p: build_sample_snapshots(spec, p, src.info, _out(job))) as plan:
        out = plan.outputs
    files = _image_files(src, "SampleSnapshot", _definition(job), out.images)
    publish(job, src.bucket, files, role="SampleSnapshot", media_id=src.file_id, definition=_definition(job),
            info=[{"width": out.width, "height": out.height}] * len(files))
    return {"Definition": _definition(job), "SampleType": spec.sample_type, "Interval": tpl["SampleInterval"],
            "ImageUrlSet": [object_marker(src.bucket, k) for _, k in files], "WaterMarkDefinition": []}


@register("ImageSprites")
def image_sprites(job: JobContext) -> dict[str, Any]:
    src, tpl = _source(job), job.input["template"]
    duration = src.info.duration or 0.0
    interval = float(tpl["SampleInterval"])
    if tpl.get("SampleType") == "Percent":
        interval = max(duration * interval / 100, 0.1)
    frame = _frame(tpl)
    spec = ImageSpritesSpec(interval=interval, width=frame["width"] or 142, height=frame["height"] or 80,
                            rows=int(tpl["RowCount"]), columns=int(tpl["ColumnCount"]), fill=_fill(tpl),
                            format=tpl.get("Format", "jpg"), resolution_adaptive=frame["resolution_adaptive"])
    with _run(job, src, lambda p: build_sprites(spec, p, src.info, _out(job))) as plan:
        out = plan.outputs
    out.vtt_path.write_text(webvtt_for_sprites(out), encoding="utf-8")
    base = f"{src.prefix}ImageSprite/{_definition(job)}/"
    sheets = [(img.path, base + img.path.name) for img in out.sheets]
    vtt_key = base + out.vtt_path.name
    sheet_info: list[dict[str, Any] | None] = [{"width": img.width, "height": img.height} for img in out.sheets]
    publish(job, src.bucket, [*sheets, (out.vtt_path, vtt_key)],
            role=[*(["ImageSprite.part"] * len(sheets)), "ImageSprite"], media_id=src.file_id,
            definition=_definition(job),
            info=[*sheet_info, {"vtt": True, "cell_width": out.cell_width, "cell_height": out.cell_height,
                                "count": out.count}])
    return {"Definition": _definition(job), "Height": out.cell_height, "Width": out.cell_width,
            "TotalCount": out.count, "ImageUrlSet": [object_marker(src.bucket, k) for _, k in sheets],
            "WebVttUrl": object_marker(src.bucket, vtt_key)}


def _has_cover(job: JobContext, file_id: str) -> bool:
    with job.ctx.db.session() as s:
        media = s.get(Media, file_id)
        return media is None or media.cover_key is not None


@register("CoverBySnapshot")
def cover_by_snapshot(job: JobContext) -> dict[str, Any]:
    src, tpl, step = _source(job), job.input["template"], job.input["step"]
    # The cover made for an upload without one: a cover that came meanwhile (an uploaded image)
    # stays. Checked before the work and again before publishing.
    keep = bool(job.input.get("keep_cover"))
    if keep and _has_cover(job, src.file_id):
        return {"CoverUrl": "", "Kept": True}
    spec = CoverBySnapshotSpec(position_type=step.get("PositionType", "Time"),
                               position=float(step.get("PositionValue", 0)), format=tpl.get("Format", "jpg"),
                               fill=_fill(tpl), **_frame(tpl))
    with _run(job, src, lambda p: build_cover(spec, p, src.info, _out(job))) as plan:
        img = plan.outputs
    key = f"{src.prefix}cover/{_definition(job)}.{spec.format}"
    if keep and _has_cover(job, src.file_id):
        return {"CoverUrl": "", "Kept": True}
    publish(job, src.bucket, [(img.path, key)], role="cover", media_id=src.file_id, definition=_definition(job),
            info=[{"width": img.width, "height": img.height, "offset": img.offset}])
    job.hooks.set_cover(job.ctx, src.file_id, key)
    return object_marker(src.bucket, key, "CoverUrl")


def _kingsoft_params(tpl: dict[str, Any], source: SourceInfo) -> dict[str, Any]:
    """A Tencent transcode template as the preset schema the transcode builder takes."""
    container = tpl["Container"]
    params: dict[str, Any] = {"f": container}
    codecs = {"libx264": "h264", "libx265": "h265", "h265": "h265", "av1": "av1", "libaom": "av1", "vp9": "vp9",
              "libvpx-vp9": "vp9"}
    if tpl.get("RemoveVideo"):
        params["VIDEO"] = {"vn": 1}
    elif (v := tpl.get("VideoTemplate")) is not None:
        video: dict[str, Any] = {"vcodec": codecs.get(v.get("Codec", "libx264"), "h264")}
        width, height = int(v.get("Width", 0)), int(v.get("Height", 0))
        portrait = (source.height or 0) > (source.width or 0)
        if v.get("ResolutionAdaptive", "open") == "open" and portrait and width and height:
            width, height = height, width
        if width:
            video["width"] = width
        if height:
            video["height"] = height
        if width and height:
            video["as"] = 1
        if v.get("Fps"):
            video["vr"] = int(v["Fps"])
        if v.get("Bitrate"):
            video["vb"] = f"{int(v['Bitrate'])}k"
        params["VIDEO"] = video
    if tpl.get("RemoveAudio"):
        params["AUDIO"] = {"an": 1}
    elif (a := tpl.get("AudioTemplate")) is not None:
        acodecs = {"libfdk_aac": "aac", "aac": "aac", "libmp3lame": "mp3", "mp3": "mp3", "flac": "flac",
                   "opus": "opus", "libopus": "opus"}
        audio: dict[str, Any] = {"acodec": acodecs.get(a.get("Codec", "libfdk_aac"), "aac")}
        if a.get("Bitrate"):
            audio["ab"] = f"{int(a['Bitrate'])}k"
        if a.get("SampleRate"):
            audio["ar"] = int(a["SampleRate"])
        if a.get("AudioChannel"):
            audio["channels"] = int(a["AudioChannel"])
        params["AUDIO"] = audio
    return params


@register("Transcode")
def transcode_step(job: JobContext) -> dict[str, Any]:
    src, tpl, step = _source(job), job.input["template"], job.input["step"]
    spec = parse_params(_kingsoft_params(tpl, src.info))
    ext = {"hls": "m3u8"}.get(tpl["Container"], tpl["Container"])
    out_dir = _out(job)
    output = out_dir / f"{_definition(job)}.{ext}"
    start = _offset(step.get("StartTimeOffset"), src.info.duration)
    end = _offset(step.get("EndTimeOffset"), src.info.duration)
    length = (end or src.info.duration or 0) - (start or 0)
    level = Leveler(job, None if tpl.get("RemoveAudio") else volume_balance(tpl), has_audio=src.info.has_audio)

    marks = () if tpl.get("RemoveVideo") or not src.info.has_video else step_watermarks(
        job, duration=length if length > 0 else None)  # drawn on the output: its timeline, after the trim

    def build(path: MediaInput) -> Plan[None]:
        chain = level.prepare(path, duration=length if length > 0 else None, start=start, end=end,
                              sample_rate=(tpl.get("AudioTemplate") or {}).get("SampleRate"))
        args = build_transcode_args(spec, [path], output, sources=[src.info], audio_filter=chain, watermarks=marks)
        trim = [*(["-ss", f"{start:g}"] if start else []), *(["-to", f"{end:g}"] if end else [])]
        if trim:
            i = args.index("-i")
            args[i:i] = trim
        return Plan(args=args, outputs=None, duration=length if length > 0 else None)

    with _run(job, src, build, level.encode_progress):
        pass
    if not output.is_file():
        raise MediaError(f"FFmpeg finished but wrote no {output.name}", code="FailedOperation.NoOutput")
    level.check(output, duration=length if length > 0 else None)
    info_json = probe(output, timeout=job.ctx.settings.probe_timeout, own_output=True,
                      limits=MediaLimits.from_settings(job.ctx.settings))
    meta = metadata_summary(info_json, size=output.stat().st_size, md5=_md5(output))
    base = f"{src.prefix}Transcode/{_definition(job)}/"
    others = sorted(p for p in out_dir.rglob("*") if p.is_file() and p != output)
    files = [(p, base + p.relative_to(out_dir).as_posix()) for p in [*others, output]]
    publish(job, src.bucket, files, role=[*(["Transcode.part"] * len(others)), "Transcode"],
            media_id=src.file_id, definition=_definition(job),
            info=[*([None] * len(others)), {"width": meta["Width"], "height": meta["Height"],
                                            "container": tpl["Container"], "duration": meta["Duration"]}])
    return {**object_marker(src.bucket, files[-1][1]), "Definition": _definition(job), "Bitrate": meta["Bitrate"],
            "Height": meta["Height"], "Width": meta["Width"], "Size": meta["Size"], "Duration": meta["Duration"],
            "Md5": meta["Md5"], "Container": tpl["Container"], "VideoStreamSet": meta["VideoStreamSet"],
            "AudioStreamSet": meta["AudioStreamSet"], **_loudness(level)}


def _loudness(level: Leveler) -> dict[str, Any]:
    """The Output's ``Loudness`` (an OpenVOD extension), when the template asks for it."""
    report = level.report()
    return {"Loudness": report} if report is not None else {}


_LADDER_CODECS: dict[str, Literal["h264", "h265", "av1"]] = {"libx264": "h264", "libx265": "h265", "av1": "av1"}


@register("AdaptiveDynamicStreaming")
def adaptive_dynamic_streaming(job: JobContext) -> dict[str, Any]:
    src, tpl = _source(job), job.input["template"]
    package = tpl.get("Format")
    if package not in ("HLS", "MPEG-DASH", "CMAF"):
        raise MediaError(f"AdaptiveDynamicStreaming format {package} is not supported; use HLS, MPEG-DASH or CMAF",
                         code="FailedOperation.UnsupportedFormat")
    rungs, audio_kbps, sample_rate = [], 0, None
    for stream in tpl["StreamInfos"]:
        v = stream.get("Video")
        if v is not None:
            height = int(v.get("Height") or v.get("Width") or 720)
            height -= height % 2
            rungs.append(Rung(height=max(64, height), video_bitrate=max(32, int(v.get("Bitrate") or 1000)) * 1000,
                              fps=float(v["Fps"]) if v.get("Fps") else None,
                              codec=_LADDER_CODECS.get(v.get("Codec", "libx264"), "h264")))
        a = stream.get("Audio")
        if a is not None and a.get("Bitrate"):
            audio_kbps = max(audio_kbps, int(a["Bitrate"]))
        if a is not None and a.get("SampleRate"):
            sample_rate = sample_rate or int(a["SampleRate"])
    tuned = tune_rungs(job, src.bucket, src.key, src.info, tpl, rungs)  # PerTitle: VMAF-picked bitrates
    rungs = list(tuned.rungs)
    encryption = None
    if tpl.get("DrmType") == "SimpleAES":
        key, key_uri = job.hooks.create_hls_key(job.ctx, job.app_id, src.file_id)
        encryption = HlsEncryption(key=key, key_uri=key_uri)
    # DASH and CMAF are fMP4 by definition; so are H.265 and AV1 rungs (a template stored before
    # they were encoded as such may still say ts).
    fmp4 = package != "HLS" or any(r.codec != "h264" for r in rungs)
    spec = AdaptiveStreamingSpec(rungs=tuple(rungs) or AdaptiveStreamingSpec().rungs,
                                 segment_type="fmp4" if fmp4 else cast(Literal["ts", "fmp4"],
                                                                       tpl.get("SegmentType", "ts")),
                                 audio_bitrate=max(16, audio_kbps or 128) * 1000, audio_sample_rate=sample_rate,
                                 encryption=encryption,
                                 skip_higher=bool(tpl.get("DisableHigherVideoResolution", 1)),
                                 watermarks=step_watermarks(job, duration=src.info.duration) if src.info.has_video
                                 else ())
    level = Leveler(job, ladder_volume_balance(tpl["StreamInfos"]), has_audio=src.info.has_audio)

    def prepare(p: MediaInput, s: AdaptiveStreamingSpec) -> AdaptiveStreamingSpec:
        return replace(s, loudness=level.prepare(p, duration=src.info.duration, sample_rate=s.audio_sample_rate))

    def check(ladder: LadderOutputs) -> None:
        sound = ladder.audio or next((v for v in ladder.variants if v.width is None), None)
        level.check(sound.playlist if sound and encryption is None else None, duration=src.info.duration)

    # Encoding, DASH/CMAF packaging and publishing (early, with the flow's PublishEarly): adaptive.py.
    output = run_ladder(job, LadderSource(src.bucket, src.key, src.file_id, src.info, src.prefix), spec,
                        definition=_definition(job), package=package, drm=tpl.get("DrmType", ""),
                        early=bool(job.input["step"].get("PublishEarly")), prepare=prepare,
                        progress=level.encode_progress, check=check)
    return {**output, **_loudness(level), **tuned.output(src.file_id, src.prefix, _definition(job))}
