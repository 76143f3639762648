"""OpenVOD's shared Tencent-shaped objects, cut to what Tencent's models hold.

Some objects are stored or served natively in Tencent's shape with a little more in them: the
probe's ``MediaMetaData`` keeps each audio stream's ``Channel``, and the processing detail
(:mod:`openvod.domain.procedure_task`, also the stored ``ProcedureStateChanged`` payload) names the
task flow (``Procedure``), an adaptive stream's ``Rungs`` and a step's ``Loudness``.
``tencentcloud-sdk-python`` warns "... fileds are useless" on every key its model lacks, so
Tencent's answers pass through here:

    procedure_task(detail["ProcedureTask"])   # DescribeTaskDetail, ProcedureStateChangeEvent
    metadata(media.metadata)                  # MediaInfo.MetaData, FileUploadEvent.MetaData
"""

from __future__ import annotations

from typing import Any

__all__ = ["metadata", "procedure_task", "sub_streams"]

_AUDIO_STREAM = ("Bitrate", "SamplingRate", "Codec")  # MediaAudioStreamItem


def _audio_streams(streams: Any) -> list[dict[str, Any]]:
    return [{k: s[k] for k in _AUDIO_STREAM if k in s} for s in streams or () if isinstance(s, dict)]


def metadata(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``MediaMetaData``: the stored one less each audio stream's ``Channel``."""
    if not isinstance(meta, dict):
        return None
    return {**meta, "AudioStreamSet": _audio_streams(meta.get("AudioStreamSet"))}


def sub_streams(rungs: Any) -> list[dict[str, Any]]:
    """An adaptive stream's ``SubStreamSet`` from its rungs (``{Width, Height}`` each, any case).

    Each rung's own size is not kept, so ``Size`` is 0, as Tencent writes for streams it made
    before it kept them. The audio rendition, shared by the rungs, is not listed."""
    out = []
    for r in rungs or ():
        if isinstance(r, dict):
            width, height = r.get("Width", r.get("width", 0)), r.get("Height", r.get("height", 0))
            out.append({"Type": "video", "Width": width or 0, "Height": height or 0, "Size": 0})
    return out


def _result(item: dict[str, Any]) -> dict[str, Any]:
    """An item of ``MediaProcessResultSet``, its ``Output`` cut to the kind's output model."""
    out = dict(item)
    for key, body in item.items():
        if key == "Type" or not isinstance(body, dict) or not isinstance(body.get("Output"), dict):
            continue
        output = dict(body["Output"])
        if "Rungs" in output:  # AdaptiveDynamicStreamingInfoItem
            output["SubStreamSet"] = sub_streams(output.pop("Rungs"))
            output.pop("DashUrl", None)  # a CMAF ladder's MPD: MediaInfo lists it as its own DASH item
        if "AudioStreamSet" in output:  # MediaTranscodeItem
            output["AudioStreamSet"] = _audio_streams(output["AudioStreamSet"])
        output.pop("Loudness", None)  # loudness normalisation's report: the native task detail has it
        output.pop("PerTitle", None)  # a per-title ladder's bitrates and VMAFs: the native task detail has them
        out[key] = {**body, "Output": output}
    return out


def procedure_task(pt: dict[str, Any]) -> dict[str, Any]:
    """A ``ProcedureTask``: the shared detail less ``Procedure`` (the flow's name, which Tencent's
    model does not carry), with its ``MetaData`` and step outputs cut as above."""
    out = {k: v for k, v in pt.items() if k != "Procedure"}
    if "MetaData" in pt:
        out["MetaData"] = metadata(pt["MetaData"])
    out["MediaProcessResultSet"] = [_result(r) for r in pt.get("MediaProcessResultSet") or () if isinstance(r, dict)]
    return out
