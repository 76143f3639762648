"""System templates (``Type`` ``Preset``), with Tencent's own Definitions.

    SYSTEM_TEMPLATES[TemplateKind.TRANSCODE][100030].params["VideoTemplate"]["Height"]   # 720

From VOD's "预置参数模板" page (cloud.tencent.com/document/product/266/33476; English copy
tencentcloud.com/document/product/266/33932; the MPS screenshot-template page 862/77168 agrees):

- Transcode 100010/20/30/40/70/80 (MP4) and 100210/20/30/40/70/80 (HLS): H.264 at 25 fps with
  the short side 360/540/720/1080/1440/2160 and 400/1000/1800/2500/3000/6000 kbps; AAC 44.1 kHz
  stereo at 64 (360p, 540p), 128 (720p, 1080p) or 160 kbps (2K, 4K). Audio only: 1100/1110/1120/
  1130/1140 (M4A, AAC 24/48/96/192/256 kbps) and 1010/1020 (MP3 128/320 kbps). Left out: the
  remux templates 875/876 (stream copy, not expressible in these params), TESHD 1008x0 and the
  historical 10/20/30... transcodes.
- AnimatedGraphics 20000 (GIF) and 20001 (WebP): source size, 2 fps (as Tencent's table says).
- SnapshotByTimeOffset 10 (also what CoverBySnapshot uses): JPG, source size, stretch.
- SampleSnapshot 10: JPG, source size, one picture every 10 percent, stretch.
- ImageSprite 10: JPG tiles of 142x80, 10 rows x 10 columns, one tile every 10 seconds.
- AdaptiveDynamicStreaming 10 (HLS), 12 (HLS, SimpleAES) and 20 (MPEG-DASH): six H.264 rungs at
  24 fps, short side 240/480/720/1080/1440/2160 at 256/512/512/1024/3072/6144 kbps, AAC 48 kbps
  44.1 kHz stereo; 10 and 12 skip rungs above the source's resolution, 20 does not.
- AdaptiveDynamicStreaming 30 (OpenVOD's, not Tencent's): HLS, five H.264 rungs 240/360/480/720/
  1080p at the source's frame rate with per-title bitrates (``PerTitle``: VMAF 95 per rung, at
  most 400/800/1400/2800/5000 kbps), AAC 128 kbps; rungs above the source are skipped.

Some system values (24 kbps audio, 320 kbps MP3, 80 px tiles) lie outside what apps may ask for
in their own templates; system templates are checked with wider limits. App templates get
Definitions from :data:`~openvod.domain.templates.USER_DEFINITION_BASE` up, so they never collide
with Tencent's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openvod.domain.templates.params import TemplateKind, validate_system_params

__all__ = ["SYSTEM_TEMPLATES", "SystemTemplate"]


@dataclass(frozen=True)
class SystemTemplate:
    """A built-in template: its ``kind``, Tencent's ``definition``, and canonical ``params``."""

    kind: TemplateKind
    definition: int
    name: str
    comment: str
    params: dict[str, Any]


def _rung(height: int, kbps: int, fps: int, audio_kbps: int) -> tuple[dict[str, Any], dict[str, Any]]:
    video = {"Codec": "libx264", "Fps": fps, "Bitrate": kbps, "Width": 0, "Height": height}
    return video, {"Codec": "libfdk_aac", "Bitrate": audio_kbps, "SampleRate": 44100, "AudioChannel": 2}


def _system_templates() -> dict[TemplateKind, dict[int, SystemTemplate]]:
    found: list[tuple[TemplateKind, int, str, str, dict[str, Any]]] = []
    rungs = (("FLU", 1, 360, 400, 64), ("SD", 2, 540, 1000, 64), ("HD", 3, 720, 1800, 128),
             ("FHD", 4, 1080, 2500, 128), ("2K", 7, 1440, 3000, 160), ("4K", 8, 2160, 6000, 160))
    for base, container in ((100_000, "mp4"), (100_200, "hls")):
        for label, n, height, kbps, akbps in rungs:
            video, audio = _rung(height, kbps, 25, akbps)
            found.append((TemplateKind.TRANSCODE, base + 10 * n, f"{label}-{container.upper()}",
                          f"{container.upper()}, H.264 {height}p {kbps} kbps 25 fps, AAC {akbps} kbps",
                          {"Container": container, "VideoTemplate": video, "AudioTemplate": audio}))
    audio_only = ((1100, "m4a", 24), (1110, "m4a", 48), (1120, "m4a", 96), (1130, "m4a", 192), (1140, "m4a", 256),
                  (1010, "mp3", 128), (1020, "mp3", 320))
    for definition, container, kbps in audio_only:
        codec = "libmp3lame" if container == "mp3" else "libfdk_aac"
        found.append((TemplateKind.TRANSCODE, definition, f"{container.upper()}-{kbps}k",
                      f"{container.upper()} audio only, {codec} {kbps} kbps 44.1 kHz stereo",
                      {"Container": container, "AudioTemplate": {"Codec": codec, "Bitrate": kbps}}))
    for definition, fmt in ((20000, "gif"), (20001, "webp")):
        found.append((TemplateKind.ANIMATED_GRAPHICS, definition, f"{fmt.upper()}-2fps",
                      f"{fmt.upper()}, source size, 2 fps", {"Format": fmt, "Fps": 2}))
    found.append((TemplateKind.SNAPSHOT_BY_TIME_OFFSET, 10, "JPG", "JPG, source size",
                  {"Format": "jpg", "FillType": "stretch"}))
    found.append((TemplateKind.SAMPLE_SNAPSHOT, 10, "JPG-10%", "JPG, source size, every 10 percent",
                  {"SampleType": "Percent", "SampleInterval": 10, "FillType": "stretch"}))
    found.append((TemplateKind.IMAGE_SPRITE, 10, "JPG-142x80-10x10", "JPG, 142x80 tiles, 10x10 per sprite, every 10 s",
                  {"SampleType": "Time", "SampleInterval": 10, "RowCount": 10, "ColumnCount": 10,
                   "Width": 142, "Height": 80}))
    ladder = [dict(zip(("Video", "Audio"), _rung(h, k, 24, 48), strict=True))
              for h, k in ((240, 256), (480, 512), (720, 512), (1080, 1024), (1440, 3072), (2160, 6144))]
    packages = ((10, "HLS", "", 1), (12, "HLS", "SimpleAES", 1), (20, "MPEG-DASH", "", 0))
    for definition, fmt, drm, skip_higher in packages:
        what = f"{fmt}{', SimpleAES' if drm else ''}, 6 H.264 rungs 240p-2160p"
        found.append((TemplateKind.ADAPTIVE_DYNAMIC_STREAMING, definition, f"{fmt}{'-' + drm if drm else ''}", what,
                      {"Format": fmt, "StreamInfos": ladder, "DrmType": drm,
                       "DisableHigherVideoResolution": skip_higher}))
    # OpenVOD's own: a per-title ladder (domain/templates/per_title.py), the fixed bitrates as caps.
    per_title = [dict(zip(("Video", "Audio"), _rung(h, k, 0, 128), strict=True))
                 for h, k in ((240, 400), (360, 800), (480, 1400), (720, 2800), (1080, 5000))]
    found.append((TemplateKind.ADAPTIVE_DYNAMIC_STREAMING, 30, "HLS-PerTitle",
                  "HLS, 5 H.264 rungs 240p-1080p, bitrates picked per title by VMAF (95), at most 400-5000 kbps",
                  {"Format": "HLS", "StreamInfos": per_title, "DisableHigherVideoResolution": 1,
                   "PerTitle": {"Switch": "ON", "TopVmaf": 95}}))
    out: dict[TemplateKind, dict[int, SystemTemplate]] = {kind: {} for kind in TemplateKind}
    for kind, definition, name, comment, params in found:
        # Validated like any template, so a bad definition fails at import rather than in a task.
        out[kind][definition] = SystemTemplate(kind, definition, name, comment, validate_system_params(kind, params))
    return out


SYSTEM_TEMPLATES: dict[TemplateKind, dict[int, SystemTemplate]] = _system_templates()
"""Built-in templates by kind and Definition (listed with ``Type`` ``Preset``)."""
