"""Watermark template params and WatermarkSet items: canonical forms and Tencent's error codes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from openvod.domain.templates import expand_steps, merge_params, template_refs, validate_params
from openvod.domain.templates.params import TemplateKind
from openvod.domain.templates.watermarks import IMAGE_KEY, MAX_IMAGE_BYTES, take_image
from openvod.errors import InvalidParameter

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def code(kind: str, params: Any) -> str:
    with pytest.raises(InvalidParameter) as err:
        validate_params(kind, params)
    return str(err.value.code)


def test_defaults_are_filled_in_and_spellings_canonical() -> None:
    text = validate_params("Watermark", {"Type": "TEXT", "CoordinateOrigin": "bottomright",
                                         "TextTemplate": {"FontColor": "0xff00aa"}})
    assert text == {"Type": "text", "CoordinateOrigin": "BottomRight", "XPos": "0px", "YPos": "0px",
                    "TextTemplate": {"FontType": "arial.ttf", "FontSize": "16px", "FontColor": "0xFF00AA",
                                     "FontAlpha": 1}}
    image = validate_params("Watermark", {"Type": "image", "XPos": "12.5%", "TextTemplate": {"FontSize": "9px"},
                                          "ImageTemplate": {"ImageContent": b64(PNG)}})
    assert "TextTemplate" not in image and image["XPos"] == "12.5%"
    assert image["ImageTemplate"] == {"ImageContent": b64(PNG), "Width": "10%", "Height": "0px",
                                      "RepeatType": "repeat", "Transparency": 0}
    data, stored = take_image(image)
    assert data == PNG and "ImageContent" not in stored["ImageTemplate"]


@pytest.mark.parametrize(("params", "want"), [
    ({"Type": "svg"}, "UnknownParameter"),
    ({"Type": "image", "ImageTemplate": {"ImageContent": b64(PNG), IMAGE_KEY: ["vod", "other/key"]}},
     "UnknownParameter"),  # the stored key is never taken from a request
    ({"Type": "image", "ImageTemplate": {"ImageContent": b64(b"GIF89a" + b"\0" * 9)}},
     "InvalidParameterValue.ImageContent"),
    ({"Type": "image", "ImageTemplate": {"ImageContent": b64(PNG + b"\0" * MAX_IMAGE_BYTES)}},
     "InvalidParameterValue.ImageContent"),
    ({"Type": "image", "ImageTemplate": {"ImageContent": b64(PNG), "Width": "0px"}}, "InvalidParameterValue.Width"),
    ({"Type": "image", "ImageTemplate": {"ImageContent": b64(PNG), "Height": "5000px"}},
     "InvalidParameterValue.Height"),
    ({"Type": "text", "XPos": "-5px", "TextTemplate": {}}, "InvalidParameterValue.XPos"),
    ({"Type": "text", "TextTemplate": {"FontAlpha": 1.5}}, "InvalidParameterValue.FontAlpha"),
    ({"Type": "text", "TextTemplate": {"FontSize": "0px"}}, "InvalidParameterValue.FontSize"),
    # ASCII digits only (surrounding blanks are stripped, and the stored value is canonical)
    ({"Type": "text", "XPos": "\u0661\u0660px", "TextTemplate": {}}, "InvalidParameterValue.XPos"),
    ({"Type": "text", "YPos": "\u00b2%", "TextTemplate": {}}, "InvalidParameterValue.YPos"),
    ({"Type": "text", "TextTemplate": {"FontSize": "\u0661\u0666px"}}, "InvalidParameterValue.FontSize"),
    ({"Type": "text"}, "MissingParameter"),
])
def test_bad_params_are_refused_with_specific_codes(params: dict[str, Any], want: str) -> None:
    assert code("Watermark", params) == want


def test_modify_keeps_the_stored_image_unless_a_new_one_comes() -> None:
    stored = {**validate_params("Watermark", {"Type": "image", "ImageTemplate": {"ImageContent": b64(PNG)}})}
    stored = {**stored, "ImageTemplate": {**take_image(stored)[1]["ImageTemplate"], IMAGE_KEY: ["vod", "a/k.png"]}}
    kept = merge_params(TemplateKind.WATERMARK, stored, {"XPos": "5px", "ImageTemplate": {"Width": "50px"}})
    assert kept["ImageTemplate"][IMAGE_KEY] == ["vod", "a/k.png"] and kept["ImageTemplate"]["Width"] == "50px"
    assert kept["XPos"] == "5px"
    new = merge_params(TemplateKind.WATERMARK, stored, {"ImageTemplate": {"ImageContent": b64(JPEG)}})
    assert IMAGE_KEY not in new["ImageTemplate"] and take_image(new)[0] == JPEG
    for changes, want in (({"Type": "text"}, "UnknownParameter"),
                          ({"ImageTemplate": {IMAGE_KEY: ["vod", "x"]}}, "UnknownParameter"),
                          ({"TextTemplate": {"FontSize": "9px"}}, "InvalidParameterValue.TextTemplate")):
        with pytest.raises(InvalidParameter) as err:
            merge_params(TemplateKind.WATERMARK, stored, changes)
        assert err.value.code == want, changes


def test_watermark_sets_on_transcode_and_ladder_steps() -> None:
    task = {"TranscodeTaskSet": [{"Definition": 100010, "StartTimeOffset": 1, "WatermarkSet": [
                {"Definition": 1000001, "TextContent": "© 2024 ACME", "StartTimeOffset": 2, "EndTimeOffset": -1}]}],
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "WatermarkSet": [{"Definition": 1000002}]}]}
    steps = expand_steps(task)
    assert steps[0].params == {"StartTimeOffset": 1, "WatermarkSet": [
        {"Definition": 1000001, "TextContent": "© 2024 ACME", "StartTimeOffset": 2, "EndTimeOffset": -1}]}
    assert steps[1].params == {"WatermarkSet": [{"Definition": 1000002}]}
    assert (TemplateKind.WATERMARK, 1000001) in template_refs(task)
    assert (TemplateKind.WATERMARK, 1000002) in template_refs(task)


@pytest.mark.parametrize(("item", "want"), [
    ({"Definition": 1000001, "TextContent": "a\nb"}, "InvalidParameterValue.TextContent"),
    ({"Definition": 1000001, "TextContent": ""}, "InvalidParameterValue.TextContent"),
    ({"Definition": 1000001, "StartTimeOffset": 5, "EndTimeOffset": 2}, "InvalidParameterValue.EndTimeOffset"),
    ({"Definition": 1000001, "SvgContent": "<svg/>"}, "UnknownParameter"),
    ({"Definition": 1000001, "Mosaic": 1}, "UnknownParameter"),
])
def test_bad_watermark_items_are_refused(item: dict[str, Any], want: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        expand_steps({"TranscodeTaskSet": [{"Definition": 100010, "WatermarkSet": [item]}]})
    assert err.value.code == want
    with pytest.raises(InvalidParameter):  # snapshots take no WatermarkSet here
        expand_steps({"SampleSnapshotTaskSet": [{"Definition": 10, "WatermarkSet": [{"Definition": 1000001}]}]})
