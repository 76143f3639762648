"""AdaptiveDynamicStreaming templates: Format HLS / MPEG-DASH / CMAF, H.265 and AV1 rungs, and the
flow's PublishEarly option."""

from __future__ import annotations

from typing import Any

import pytest

from openvod.domain.templates import SYSTEM_TEMPLATES, TemplateKind
from openvod.domain.templates.flows import expand_steps
from openvod.domain.templates.params import validate_params
from openvod.errors import InvalidParameter


def ads(**fields: Any) -> dict[str, Any]:
    return validate_params("AdaptiveDynamicStreaming", {
        "StreamInfos": [{"Video": {"Codec": fields.pop("codec", "libx264"), "Height": 240}, "Audio": {}}],
        **fields})


@pytest.mark.parametrize("given, stored", [("HLS", "HLS"), ("mpeg-dash", "MPEG-DASH"), ("cmaf", "CMAF")])
def test_formats(given: str, stored: str) -> None:
    out = ads(Format=given)
    assert out["Format"] == stored
    assert ("SegmentType" in out) == (stored == "HLS")  # DASH and CMAF are fMP4 whatever is asked


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidParameter) as e:
        ads(Format="Smooth")
    assert e.value.code == "InvalidParameterValue.Format"


@pytest.mark.parametrize("codec", ["libx265", "av1"])
def test_h265_and_av1_default_to_fmp4_and_refuse_ts(codec: str) -> None:
    assert ads(Format="HLS", codec=codec)["SegmentType"] == "fmp4"
    assert ads(Format="HLS", codec=codec)["StreamInfos"][0]["Video"]["Codec"] == codec
    with pytest.raises(InvalidParameter) as e:
        ads(Format="HLS", codec=codec, SegmentType="ts")
    assert e.value.code == "InvalidParameterValue.SegmentType"
    with pytest.raises(InvalidParameter) as e:
        ads(Format="HLS", codec=codec, DrmType="SimpleAES")
    assert e.value.code == "InvalidParameterValue.DrmType"


def test_h264_keeps_ts_by_default_and_vp9_is_refused() -> None:
    assert ads(Format="HLS")["SegmentType"] == "ts"
    with pytest.raises(InvalidParameter) as e:
        ads(Format="HLS", codec="vp9")
    assert e.value.code == "InvalidParameterValue.VideoCodec"


@pytest.mark.parametrize("fmt", ["MPEG-DASH", "CMAF"])
def test_simple_aes_is_hls_only(fmt: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        ads(Format=fmt, DrmType="SimpleAES")
    assert e.value.code == "InvalidParameterValue.DrmType"


def test_system_dash_template() -> None:
    assert SYSTEM_TEMPLATES[TemplateKind.ADAPTIVE_DYNAMIC_STREAMING][20].params["Format"] == "MPEG-DASH"


def test_publish_early_is_a_flag_of_the_flow_item() -> None:
    (step,) = expand_steps({"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "PublishEarly": 1}]})
    assert step.params == {"PublishEarly": 1}
    (step,) = expand_steps({"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}]})
    assert step.params == {}
    with pytest.raises(InvalidParameter) as e:
        expand_steps({"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "PublishEarly": 2}]})
    assert e.value.code == "InvalidParameterValue.PublishEarly"
    with pytest.raises(InvalidParameter):
        expand_steps({"TranscodeTaskSet": [{"Definition": 100010, "PublishEarly": 1}]})
