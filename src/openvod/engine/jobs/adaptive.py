"""The AdaptiveDynamicStreaming step's encoding and publishing: HLS, MPEG-DASH or CMAF (both).

    output = run_ladder(job, LadderSource(bucket, key, file_id, info, prefix), spec, definition=10,
                        package="CMAF", early=True)

``package`` is the template's ``Format``: ``HLS`` publishes the HLS ladder (``master.m3u8``);
``MPEG-DASH`` the fMP4 segments and ``manifest.mpd`` (Tencent's ``Package`` ``DASH``); ``CMAF``
(OpenVOD's) one set of fMP4 segments with both manifests naming them: two outputs of one
Definition (``AdaptiveDynamicStreaming`` role, ``info.format`` HLS and DASH), half the storage of
two ladders. With ``early``, the lowest rung and the audio are encoded and published first (a
master listing that rung, and an MPD), then the other rungs, after which both manifests are
published again whole: the media plays minutes before a long ladder is done. An encrypted
(SimpleAES) ladder, or one with a single rung, is made in one run whatever ``early`` says.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from openvod.domain.markers import object_marker
from openvod.engine.jobs import JobContext
from openvod.engine.jobs.publish import publish
from openvod.media.common import Plan
from openvod.media.dash import MPD_NAME, write_mpd
from openvod.media.inputs import MediaInput
from openvod.media.ladder import AdaptiveStreamingSpec, LadderLayout, LadderOutputs, build_ladder, finish_ladder
from openvod.media.ladder_parts import combine_ladders, split_rungs, without_audio
from openvod.media.transcode import SourceInfo

__all__ = ["LadderSource", "Package", "run_ladder"]

Package = Literal["HLS", "MPEG-DASH", "CMAF"]
ROLE = "AdaptiveDynamicStreaming"
# Share of the step's progress the first part (lowest rung and audio) stands for when publishing early.
_EARLY_SHARE = 25.0


@dataclass(frozen=True)
class LadderSource:
    """The media file a ladder is made of, and where its outputs go (``prefix``: ``{app}/media/{FileId}/``)."""

    bucket: str
    key: str
    file_id: str
    info: SourceInfo
    prefix: str


@dataclass
class _Published:
    sizes: dict[str, int]  # key -> size of what is stored


def _encode(job: JobContext, src: LadderSource, build: Callable[[MediaInput], Plan[LadderLayout]],
            progress: Callable[[float], None]) -> None:
    with job.source(src.bucket, src.key) as source:
        plan = build(source)
        job.run_ffmpeg(plan.args, duration=plan.duration, on_progress=progress)


def _publish(job: JobContext, src: LadderSource, definition: int, out_dir: Path, ladder: LadderOutputs,
             package: Package, drm: str, done: _Published) -> dict[str, Any]:
    """Publish what ``done`` has not yet stored of ``ladder`` (and its MPD), then the manifests
    (always: they change as rungs are added), the HLS master last. Returns the step's output."""
    base = f"{src.prefix}{ROLE}/{definition}/"

    def key(p: Path) -> str:
        return base + p.relative_to(out_dir).as_posix()

    rungs = [{"width": r.width, "height": r.height, "bandwidth": r.bandwidth} for r in ladder.variants]
    hls = package != "MPEG-DASH"
    parts = [p for p in ladder.files if p != ladder.master] if hls else []
    manifests: list[tuple[Path, dict[str, Any]]] = []
    mpd = None
    if package != "HLS":
        mpd = write_mpd(ladder, out_dir / MPD_NAME)
        parts += [p for p in mpd.files if p not in parts]
        manifests.append((mpd.path, {"rungs": rungs, "drm": drm, "format": "DASH"}))
    if hls:
        manifests.append((ladder.master, {"rungs": rungs, "drm": drm, "format": "HLS"}))
    # Media playlists change as parts are combined (target duration, merged tails): sent again.
    new = [p for p in parts if key(p) not in done.sizes or p.suffix == ".m3u8"]
    files = [(p, key(p)) for p in new] + [(p, key(p)) for p, _ in manifests]
    stats = publish(job, src.bucket, files, role=[f"{ROLE}.part"] * len(new) + [ROLE] * len(manifests),
                    media_id=src.file_id, definition=definition,
                    info=[None] * len(new) + [info for _, info in manifests])
    done.sizes.update((k, stat.size) for (_, k), stat in zip(files, stats, strict=True))
    main = ladder.master if hls else (mpd.path if mpd else ladder.master)
    output = {**object_marker(src.bucket, key(main)), "Definition": definition,
              "Package": "HLS" if hls else "DASH", "DrmType": drm, "Size": sum(done.sizes.values()),
              "Rungs": [{"Width": r.width, "Height": r.height, "Bandwidth": r.bandwidth} for r in ladder.variants]}
    if package == "CMAF" and mpd is not None:
        output["DashUrl"] = object_marker(src.bucket, key(mpd.path))  # OpenVOD's: the same segments' MPD
    return output


def run_ladder(job: JobContext, src: LadderSource, spec: AdaptiveStreamingSpec, *, definition: int,
               package: Package, drm: str = "", early: bool = False,
               prepare: Callable[[MediaInput, AdaptiveStreamingSpec], AdaptiveStreamingSpec] | None = None,
               progress: Callable[[float], None] | None = None,
               check: Callable[[LadderOutputs], None] | None = None) -> dict[str, Any]:
    """Encode ``spec`` from ``src``, package it as ``package`` and publish it under
    ``{prefix}AdaptiveDynamicStreaming/{definition}/``; the step's ``Output`` (Tencent's
    ``AdaptiveDynamicStreamingInfoItem`` fields, ``Rungs``, and ``DashUrl`` for CMAF).

    ``prepare(input, spec)`` may change the spec of the run that encodes the audio, right before
    it (e.g. a loudness filter measured from the input); ``progress`` receives the encoding's
    percentages (default: the job's); ``check`` sees the whole ladder before it is published."""
    out_dir = job.workdir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)  # a retried attempt starts clean
    out_dir.mkdir(parents=True)
    key_dir = job.workdir / "keys"
    key_dir.mkdir(exist_ok=True)
    report = progress or job.progress
    ready = prepare or (lambda _input, s: s)
    done = _Published(sizes={})
    halves = split_rungs(spec, src.info) if early and spec.encryption is None else None
    if halves is None:
        _encode(job, src, lambda p: build_ladder(ready(p, spec), p, src.info, out_dir, key_dir=key_dir), report)
        ladder = finish_ladder(out_dir)
        if check:
            check(ladder)
        return _publish(job, src, definition, out_dir, ladder, package, drm, done)
    low, high = halves
    (out_dir / "low").mkdir()
    (out_dir / "high").mkdir()
    _encode(job, src, lambda p: build_ladder(ready(p, low), p, src.info, out_dir / "low", key_dir=key_dir),
            lambda pct: report(pct * _EARLY_SHARE / 100))
    finish_ladder(out_dir / "low")
    _publish(job, src, definition, out_dir, combine_ladders(out_dir, ["low"]), package, drm, done)
    rest = without_audio(src.info)
    _encode(job, src, lambda p: build_ladder(high, p, rest, out_dir / "high", key_dir=key_dir),
            lambda pct: report(_EARLY_SHARE + pct * (100 - _EARLY_SHARE) / 100))
    finish_ladder(out_dir / "high")
    ladder = combine_ladders(out_dir, ["low", "high"])
    if check:
        check(ladder)
    return _publish(job, src, definition, out_dir, ladder, package, drm, done)
