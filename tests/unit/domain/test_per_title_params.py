"""AdaptiveDynamicStreaming's ``PerTitle`` option (domain/templates/per_title.py) and system template 30."""

from __future__ import annotations

from typing import Any

import pytest

from openvod.domain.templates import SYSTEM_TEMPLATES, TemplateKind, merge_params, validate_params
from openvod.domain.templates.per_title import per_title_on
from openvod.errors import InvalidParameter

STREAM = {"Video": {"Height": 720, "Bitrate": 2800}, "Audio": {}}


def ads(per_title: Any, streams: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return validate_params("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": streams or [STREAM],
                                                        "PerTitle": per_title})


def test_defaults_are_filled_in() -> None:
    params = ads({"Switch": "on"})
    assert params["PerTitle"] == {"Switch": "ON", "TopVmaf": 95, "VmafStep": 0, "MinBitrate": 64, "MaxBitrate": 0}
    assert per_title_on(params)
    assert not per_title_on(ads({}))  # OFF by default
    plain = validate_params("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [STREAM]})
    assert "PerTitle" not in plain and not per_title_on(plain)  # templates without it are as they were
    full = ads({"Switch": "ON", "TopVmaf": 92.5, "VmafStep": 2, "MinBitrate": 100, "MaxBitrate": 6000})
    assert full["PerTitle"] == {"Switch": "ON", "TopVmaf": 92.5, "VmafStep": 2, "MinBitrate": 100, "MaxBitrate": 6000}


@pytest.mark.parametrize(("per_title", "code"), [
    ("ON", "InvalidParameterValue.PerTitle"),
    ({"Switch": "maybe"}, "InvalidParameterValue.Switch"),
    ({"Switch": "ON", "TopVmaf": 101}, "InvalidParameterValue.TopVmaf"),
    ({"Switch": "ON", "TopVmaf": 30}, "InvalidParameterValue.TopVmaf"),
    ({"Switch": "ON", "TopVmaf": "95"}, "InvalidParameterValue.TopVmaf"),
    ({"Switch": "ON", "VmafStep": -1}, "InvalidParameterValue.VmafStep"),
    ({"Switch": "ON", "VmafStep": 21}, "InvalidParameterValue.VmafStep"),
    ({"Switch": "ON", "MinBitrate": 10}, "InvalidParameterValue.MinBitrate"),
    ({"Switch": "ON", "MinBitrate": 1.5}, "InvalidParameterValue.MinBitrate"),
    ({"Switch": "ON", "MaxBitrate": 100}, "InvalidParameterValue.MaxBitrate"),
    ({"Switch": "ON", "MaxBitrate": 200_000}, "InvalidParameterValue.MaxBitrate"),
    ({"Switch": "ON", "MinBitrate": 3000, "MaxBitrate": 2000}, "InvalidParameterValue.MaxBitrate"),
    ({"Switch": "ON", "Targets": [95]}, "UnknownParameter"),
])
def test_bad_values(per_title: Any, code: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        ads(per_title)
    assert e.value.code == code
    assert "AdaptiveDynamicStreaming.PerTitle" in e.value.message


def test_needs_h264_rungs() -> None:
    hevc = [{"Video": {"Codec": "libx265", "Height": 720, "Bitrate": 2000}, "Audio": {}}]
    with pytest.raises(InvalidParameter) as e:
        validate_params("AdaptiveDynamicStreaming", {"Format": "HLS", "SegmentType": "fmp4", "StreamInfos": hevc,
                                                     "PerTitle": {"Switch": "ON"}})
    assert e.value.code == "InvalidParameterValue.PerTitle" and "libx265" in e.value.message
    off = validate_params("AdaptiveDynamicStreaming", {"Format": "HLS", "SegmentType": "fmp4", "StreamInfos": hevc,
                                                       "PerTitle": {"Switch": "OFF"}})
    assert off["PerTitle"]["Switch"] == "OFF"


def test_modify_merges_per_title() -> None:
    current = ads({"Switch": "ON", "TopVmaf": 93})
    merged = merge_params("AdaptiveDynamicStreaming", current, {"PerTitle": {"MaxBitrate": 4000}})
    assert merged["PerTitle"]["TopVmaf"] == 93 and merged["PerTitle"]["MaxBitrate"] == 4000
    off = merge_params("AdaptiveDynamicStreaming", current, {"PerTitle": {"Switch": "OFF"}})
    assert not per_title_on(off)


def test_system_template_30() -> None:
    t = SYSTEM_TEMPLATES[TemplateKind.ADAPTIVE_DYNAMIC_STREAMING][30]
    assert t.params["Format"] == "HLS" and per_title_on(t.params) and t.params["PerTitle"]["TopVmaf"] == 95
    assert [s["Video"]["Height"] for s in t.params["StreamInfos"]] == [240, 360, 480, 720, 1080]
    assert [s["Video"]["Bitrate"] for s in t.params["StreamInfos"]] == [400, 800, 1400, 2800, 5000]
    assert t.params["DisableHigherVideoResolution"] == 1
