"""``PerTitle``, an OpenVOD option of AdaptiveDynamicStreaming templates: each rung's bitrate
picked for the source by VMAF instead of taken from ``StreamInfos`` (see
:mod:`openvod.media.per_title` for how).

    per_title_params("AdaptiveDynamicStreaming.PerTitle", {"Switch": "ON", "TopVmaf": 93})
    # {"Switch": "ON", "TopVmaf": 93, "VmafStep": 0, "MinBitrate": 64, "MaxBitrate": 0}

Fields (Tencent has no such option; names follow its style: ``Switch`` ON/OFF as in its
``*Config`` objects, bitrates in kbps as its ``Bitrate`` fields):

- ``Switch``: ``ON`` or ``OFF`` (default).
- ``TopVmaf``: the VMAF (50-100, default 95) the top rung must reach, measured against the source
  scaled to the rung.
- ``VmafStep``: how much lower (0-20, default 0) each next rung's target is: rung *k* from the top
  aims at ``TopVmaf - k * VmafStep``.
- ``MinBitrate``: the lowest bitrate (kbps, 32-100000, default 64) any rung is given.
- ``MaxBitrate``: the highest (kbps, 128-100000); 0 (default) caps each rung at its own
  ``StreamInfos`` ``Bitrate``, so per-title never spends more than the fixed ladder would.

Per-title probes encode with H.264 (x264), so it is for ``libx264`` rungs only. Bad values are
``InvalidParameterValue.<Field>`` (``Switch``, ``TopVmaf``, ``VmafStep``, ``MinBitrate``,
``MaxBitrate``; ``PerTitle`` for the object itself or non-H.264 rungs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openvod.domain.templates._fields import JsonObject, bad_value

__all__ = ["PER_TITLE_KEYS", "per_title_params", "per_title_on"]

PER_TITLE_KEYS = ("Switch", "TopVmaf", "VmafStep", "MinBitrate", "MaxBitrate")


def per_title_params(where: str, raw: Any, streams: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The canonical ``PerTitle`` object (defaults filled in) of ``raw``; ``streams`` are the
    template's validated ``StreamInfos``, whose rungs must be H.264 when the switch is on."""
    o = JsonObject(where, raw, PER_TITLE_KEYS, "PerTitle")
    out: dict[str, Any] = {
        "Switch": o.choice("Switch", "OFF", ("ON", "OFF")),
        "TopVmaf": o.number("TopVmaf", 95, 50, 100),
        "VmafStep": o.number("VmafStep", 0, 0, 20),
        "MinBitrate": o.whole("MinBitrate", 64, 32, 100_000),
        "MaxBitrate": o.whole("MaxBitrate", 0, 128, 100_000, zero=True),
    }
    if out["MaxBitrate"] and out["MaxBitrate"] < out["MinBitrate"]:
        raise bad_value("MaxBitrate", f"{o.path('MaxBitrate')} ({out['MaxBitrate']} kbps) must not be below "
                                      f"MinBitrate ({out['MinBitrate']} kbps)")
    others = sorted({s["Video"].get("Codec", "libx264") for s in streams if "Video" in s} - {"libx264"})
    if out["Switch"] == "ON" and others:
        raise bad_value("PerTitle", f"{where} picks bitrates with H.264 probes: it needs libx264 rungs, "
                                    f"not {' and '.join(others)}")
    return out


def per_title_on(params: dict[str, Any]) -> bool:
    """Whether an AdaptiveDynamicStreaming template's params ask for a per-title ladder."""
    pt = params.get("PerTitle")
    return isinstance(pt, dict) and pt.get("Switch") == "ON"
