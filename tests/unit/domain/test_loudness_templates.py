"""Loudness normalisation in templates: EnhanceConfig.AudioEnhance.VolumeBalance, checked."""

from __future__ import annotations

from typing import Any

import pytest

from openvod.domain.templates import merge_params, validate_params
from openvod.domain.templates.loudness import ladder_volume_balance, volume_balance
from openvod.errors import InvalidParameter


def _enhance(**vb: Any) -> dict[str, Any]:
    return {"AudioEnhance": {"VolumeBalance": vb}}


def _transcode(enhance: Any, **more: Any) -> dict[str, Any]:
    return {"Container": "mp4", "VideoTemplate": {}, "AudioTemplate": {}, "EnhanceConfig": enhance, **more}


def _ladder(*streams: dict[str, Any]) -> dict[str, Any]:
    return {"Format": "HLS", "StreamInfos": [{"Video": {"Height": 240}, "Audio": {}, **s} for s in streams]}


def test_transcode_volume_balance_defaults_to_ebu_r128() -> None:
    p = validate_params("Transcode", _transcode(_enhance(Switch="on")))
    assert p["EnhanceConfig"] == _enhance(Switch="ON", Type="loudNorm", IntegratedLoudness=-23, TruePeak=-1,
                                          LoudnessRange=7)
    assert volume_balance(p) == p["EnhanceConfig"]["AudioEnhance"]["VolumeBalance"]
    off = validate_params("Transcode", _transcode(_enhance(Switch="OFF", IntegratedLoudness=-16.5)))
    assert off["EnhanceConfig"]["AudioEnhance"]["VolumeBalance"]["IntegratedLoudness"] == -16.5
    assert volume_balance(off) is None
    assert "EnhanceConfig" not in validate_params("Transcode", {"Container": "mp4", "VideoTemplate": {},
                                                                "AudioTemplate": {}})


def test_moot_without_audio_and_kept_by_a_merge() -> None:
    p = validate_params("Transcode", _transcode(_enhance(Switch="ON"), RemoveAudio=1))
    assert "EnhanceConfig" not in p and volume_balance(p) is None
    current = validate_params("Transcode", _transcode(_enhance(Switch="ON", IntegratedLoudness=-14)))
    merged = merge_params("Transcode", current, {"AudioTemplate": {"Bitrate": 96}})
    assert merged["EnhanceConfig"]["AudioEnhance"]["VolumeBalance"]["IntegratedLoudness"] == -14


@pytest.mark.parametrize(("enhance", "code"), [
    (_enhance(), "MissingParameter"),  # Switch is required
    (_enhance(Switch="MAYBE"), "InvalidParameterValue.Switch"),
    (_enhance(Switch="ON", Type="gainControl"), "InvalidParameterValue.Type"),
    (_enhance(Switch="ON", Type="other"), "InvalidParameterValue.Type"),
    (_enhance(Switch="ON", IntegratedLoudness=-4), "InvalidParameterValue.IntegratedLoudness"),
    (_enhance(Switch="ON", IntegratedLoudness=-71), "InvalidParameterValue.IntegratedLoudness"),
    (_enhance(Switch="ON", IntegratedLoudness="-23"), "InvalidParameterValue.IntegratedLoudness"),
    (_enhance(Switch="ON", TruePeak=1), "InvalidParameterValue.TruePeak"),
    (_enhance(Switch="ON", LoudnessRange=25), "InvalidParameterValue.LoudnessRange"),
    (_enhance(Switch="ON", Loudness=-23), "UnknownParameter"),
    ({"AudioEnhance": {"Denoise": {"Switch": "ON"}}}, "UnknownParameter"),
    ({"VideoEnhance": {}}, "UnknownParameter"),
    ([], "InvalidParameterValue.EnhanceConfig"),
    ({"AudioEnhance": 3}, "InvalidParameterValue.AudioEnhance"),
])
def test_bad_volume_balance_refused(enhance: Any, code: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        validate_params("Transcode", _transcode(enhance))
    assert exc.value.code == code


def test_ladder_streams_share_one_setting() -> None:
    on = {"EnhanceConfig": _enhance(Switch="ON", IntegratedLoudness=-16)}
    p = validate_params("AdaptiveDynamicStreaming", _ladder(on, {}))  # a stream giving none follows
    vb = ladder_volume_balance(p["StreamInfos"])
    assert vb is not None and vb["IntegratedLoudness"] == -16
    assert ladder_volume_balance(validate_params("AdaptiveDynamicStreaming", _ladder({}, {}))["StreamInfos"]) is None
    with pytest.raises(InvalidParameter) as exc:
        validate_params("AdaptiveDynamicStreaming", _ladder(on, {"EnhanceConfig": _enhance(Switch="ON")}))
    assert exc.value.code == "InvalidParameterValue.VolumeBalance" and "StreamInfos[1]" in str(exc.value)
    with pytest.raises(InvalidParameter) as exc:
        validate_params("AdaptiveDynamicStreaming", _ladder(on, {"EnhanceConfig": _enhance(Switch="OFF",
                                                                                            IntegratedLoudness=-16)}))
    assert exc.value.code == "InvalidParameterValue.VolumeBalance"
    # a stream without audio has nothing to normalise: its setting is dropped, not compared
    silent = {"RemoveAudio": 1, "EnhanceConfig": _enhance(Switch="ON", IntegratedLoudness=-30)}
    p = validate_params("AdaptiveDynamicStreaming", _ladder(on, silent))
    assert "EnhanceConfig" not in p["StreamInfos"][1]
    assert ladder_volume_balance(p["StreamInfos"]) == vb
