"""Loudness normalisation in templates: Tencent's ``EnhanceConfig.AudioEnhance.VolumeBalance``.

Tencent's ``CreateTranscodeTemplate`` and each ``StreamInfos[]`` item of
``CreateAdaptiveDynamicStreamingTemplate`` (``AdaptiveStreamTemplate``) take an ``EnhanceConfig``
whose ``AudioEnhance.VolumeBalance`` (``AudioVolumeBalanceInfo``) is ``{"Switch": "ON"|"OFF",
"Type": "loudNorm"|"gainControl"}``. OpenVOD runs ``loudNorm`` as EBU R128 two-pass loudness
normalisation (``media/loudness.py``) and adds its targets to the same object, Tencent-style::

    "EnhanceConfig": {"AudioEnhance": {"VolumeBalance": {
        "Switch": "ON", "Type": "loudNorm",
        "IntegratedLoudness": -23,   # LUFS, -70..-5   (OpenVOD extension)
        "TruePeak": -1,              # dBTP, -9..0     (OpenVOD extension)
        "LoudnessRange": 7}}}        # LU, 1..20       (OpenVOD extension)

``Switch`` is required; the rest default as shown. ``gainControl``, denoising, separation,
beautifying and ``VideoEnhance`` are refused (``InvalidParameterValue.Type``,
``UnknownParameter``). An adaptive ladder encodes its audio once for every stream, so the
streams that give a ``VolumeBalance`` must give the same one (``InvalidParameterValue
.VolumeBalance``); streams that give none follow them. A step's ``Output`` then carries
``Loudness`` (see ``engine/jobs/loudness.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openvod.domain.templates._fields import JsonObject, bad_value

__all__ = ["enhance_config", "ladder_volume_balance", "volume_balance"]

_VOLUME_KEYS = ("Switch", "Type", "IntegratedLoudness", "TruePeak", "LoudnessRange")


def _volume_balance(where: str, raw: Any) -> dict[str, Any]:
    o = JsonObject(where, raw, _VOLUME_KEYS, "VolumeBalance")
    switch = o.choice("Switch", None, ("ON", "OFF"), "Switch")
    if isinstance(o.raw.get("Type"), str) and o.raw["Type"].strip().lower() == "gaincontrol":
        raise bad_value("Type", f"{o.path('Type')} gainControl is not supported; use loudNorm (EBU R128)")
    return {
        "Switch": switch,
        "Type": o.choice("Type", "loudNorm", ("loudNorm",), "Type"),
        "IntegratedLoudness": o.number("IntegratedLoudness", -23, -70, -5),
        "TruePeak": o.number("TruePeak", -1, -9, 0),
        "LoudnessRange": o.number("LoudnessRange", 7, 1, 20),
    }


def enhance_config(where: str, raw: Any) -> dict[str, Any]:
    """The canonical ``EnhanceConfig`` at ``where`` (e.g. ``Transcode.EnhanceConfig``): only
    ``AudioEnhance.VolumeBalance`` is supported; an empty object stays empty."""
    o = JsonObject(where, raw, ("AudioEnhance",), "EnhanceConfig")
    if not o.has("AudioEnhance"):
        return {}
    a = JsonObject(o.path("AudioEnhance"), o.raw["AudioEnhance"], ("VolumeBalance",), "AudioEnhance")
    if not a.has("VolumeBalance"):
        return {"AudioEnhance": {}}
    return {"AudioEnhance": {"VolumeBalance": _volume_balance(a.path("VolumeBalance"), a.raw["VolumeBalance"])}}


def volume_balance(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``VolumeBalance`` of canonical params (a transcode template, or one ladder stream)
    when its ``Switch`` is ``ON``, else ``None``."""
    vb = ((params.get("EnhanceConfig") or {}).get("AudioEnhance") or {}).get("VolumeBalance")
    return vb if isinstance(vb, dict) and vb.get("Switch") == "ON" else None


def ladder_volume_balance(streams: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The one ``VolumeBalance`` (ON) of a ladder's canonical ``StreamInfos``, or ``None``.
    Raises ``InvalidParameterValue.VolumeBalance`` when streams with audio give different ones."""
    given: list[tuple[int, dict[str, Any]]] = []
    for i, s in enumerate(streams):
        vb = ((s.get("EnhanceConfig") or {}).get("AudioEnhance") or {}).get("VolumeBalance")
        if "Audio" in s and isinstance(vb, dict):
            given.append((i, vb))
    for i, vb in given[1:]:
        if vb != given[0][1]:
            raise bad_value("VolumeBalance", f"AdaptiveDynamicStreaming.StreamInfos[{i}] and [{given[0][0]}] give "
                                             "different EnhanceConfig.AudioEnhance.VolumeBalance, but the streams "
                                             "share one audio rendition: give the same one (or none)")
    return given[0][1] if given and given[0][1].get("Switch") == "ON" else None
