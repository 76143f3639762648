"""Watermark templates through the official Tencent SDK against a live server, key by key, and
watermarks drawn by a processing task's transcode and HLS ladder (checked in the output's pixels)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.compat.test_tencent import call, client, fetch
from tests.conftest import ServerProc
from tests.media import frame_rgb, make_flat_clip, make_image
from tests.tus import upload_bytes
from tests.unit.media.test_watermark import BACKGROUND, bright, mean, near


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def code_of(c: Any, action: str, params: dict[str, Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        call(c, action, params)
    return str(err.value.get_code())


def test_watermark_templates_crud_key_by_key(srv: ServerProc, tmp_path: Path) -> None:
    c = client(srv)
    png = make_image(tmp_path / "logo.png", width=64, height=32, color="0xFF0000")
    made = call(c, "CreateWatermarkTemplate", {
        "Type": "image", "Name": "logo", "Comment": "red", "CoordinateOrigin": "TopRight", "XPos": "10px",
        "YPos": "5%", "ImageTemplate": {"ImageContent": b64(png), "Width": "20%", "Transparency": 10}})
    image_def = made["Definition"]
    assert image_def >= 1_000_000 and fetch(made["ImageUrl"]) == png.read_bytes()
    text_def = call(c, "CreateWatermarkTemplate", {
        "Type": "text", "Name": "caption", "XPos": "5%", "YPos": "8px", "CoordinateOrigin": "BottomLeft",
        "TextTemplate": {"FontType": "simkai.ttf", "FontSize": "40px", "FontColor": "0xffff00", "FontAlpha": 0.8}},
    )["Definition"]

    listed = call(c, "DescribeWatermarkTemplates", {"Definitions": [image_def]})
    assert listed["TotalCount"] == 1
    item = listed["WatermarkTemplateSet"][0]
    assert sorted(item) == sorted(["Definition", "Type", "Name", "Comment", "XPos", "YPos", "ImageTemplate",
                                   "TextTemplate", "SvgTemplate", "CreateTime", "UpdateTime", "CoordinateOrigin"])
    assert {k: item[k] for k in ("Definition", "Type", "Name", "Comment", "XPos", "YPos", "CoordinateOrigin",
                                 "TextTemplate", "SvgTemplate")} == {
        "Definition": image_def, "Type": "image", "Name": "logo", "Comment": "red", "XPos": "10px", "YPos": "5%",
        "CoordinateOrigin": "TopRight", "TextTemplate": None, "SvgTemplate": None}
    image = item["ImageTemplate"]
    assert {k: image[k] for k in ("Width", "Height", "RepeatType", "Transparency")} == {
        "Width": "20%", "Height": "0px", "RepeatType": "repeat", "Transparency": 10}
    assert fetch(image["ImageUrl"]) == png.read_bytes()
    assert item["CreateTime"].endswith("Z") and item["UpdateTime"].endswith("Z")

    texts = call(c, "DescribeWatermarkTemplates", {"Type": "text", "Limit": 100})
    assert [t["Definition"] for t in texts["WatermarkTemplateSet"]] == [text_def] and texts["TotalCount"] == 1
    text = texts["WatermarkTemplateSet"][0]
    assert text["ImageTemplate"] is None and text["TextTemplate"] == {
        "FontType": "simkai.ttf", "FontSize": "40px", "FontColor": "0xFFFF00", "FontAlpha": 0.8}
    assert (text["XPos"], text["YPos"], text["CoordinateOrigin"]) == ("5%", "8px", "BottomLeft")

    # Modify: a field of the text template; a new image for the image one (the old one is deleted)
    assert call(c, "ModifyWatermarkTemplate", {"Definition": text_def, "Name": "caption2",
                                               "TextTemplate": {"FontSize": "30px"}})["ImageUrl"] == ""
    text = call(c, "DescribeWatermarkTemplates", {"Definitions": [text_def]})["WatermarkTemplateSet"][0]
    assert text["Name"] == "caption2" and text["TextTemplate"]["FontSize"] == "30px"
    assert text["TextTemplate"]["FontColor"] == "0xFFFF00"  # kept
    jpg = make_image(tmp_path / "logo.jpg", width=32, height=32, color="0x00FF00")
    changed = call(c, "ModifyWatermarkTemplate", {"Definition": image_def, "XPos": "0px",
                                                  "ImageTemplate": {"ImageContent": b64(jpg)}})
    assert fetch(changed["ImageUrl"]) == jpg.read_bytes()
    assert httpx.get(made["ImageUrl"], timeout=30).status_code == 404
    item = call(c, "DescribeWatermarkTemplates", {"Definitions": [image_def]})["WatermarkTemplateSet"][0]
    assert item["XPos"] == "0px" and item["ImageTemplate"]["Width"] == "20%"  # unchanged fields kept

    time.sleep(1.0 - time.time() % 1.0)  # two Deletes of one body in one second would be a replay
    for d in (image_def, text_def):
        assert call(c, "DeleteWatermarkTemplate", {"Definition": d})["RequestId"]
    assert call(c, "DescribeWatermarkTemplates", {"Definitions": [image_def, text_def]})["TotalCount"] == 0
    assert httpx.get(changed["ImageUrl"], timeout=30).status_code == 404
    assert code_of(c, "DeleteWatermarkTemplate", {"Definition": image_def}) == "ResourceNotFound.TemplateNotExist"


def test_watermark_template_errors_have_specific_codes(srv: ServerProc, tmp_path: Path) -> None:
    c = client(srv)
    png = b64(make_image(tmp_path / "x.png"))
    gif = base64.b64encode(b"GIF89a" + b"\0" * 32).decode()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"Type": "svg", "SvgTemplate": {"Width": "10px"}}, "UnknownParameter"),
        ({"Type": "video", "TextTemplate": {}}, "InvalidParameterValue.Type"),
        ({"Type": "image"}, "MissingParameter"),
        ({"Type": "image", "XPos": "10", "ImageTemplate": {"ImageContent": png}}, "InvalidParameterValue.XPos"),
        ({"Type": "image", "YPos": "101%", "ImageTemplate": {"ImageContent": png}}, "InvalidParameterValue.YPos"),
        ({"Type": "image", "CoordinateOrigin": "Center", "ImageTemplate": {"ImageContent": png}},
         "InvalidParameterValue.CoordinateOrigin"),
        ({"Type": "image", "ImageTemplate": {"ImageContent": gif}}, "InvalidParameterValue.ImageContent"),
        ({"Type": "image", "ImageTemplate": {"ImageContent": "not base64!"}}, "InvalidParameterValue.ImageContent"),
        ({"Type": "image", "ImageTemplate": {"ImageContent": png, "Width": "4px"}}, "InvalidParameterValue.Width"),
        ({"Type": "image", "ImageTemplate": {"ImageContent": png, "Transparency": 101}},
         "InvalidParameterValue.Transparency"),
        ({"Type": "image", "ImageTemplate": {"ImageContent": png, "RepeatType": "bounce"}},
         "InvalidParameterValue.RepeatType"),
        ({"Type": "text", "TextTemplate": {"FontType": "comic.ttf"}}, "InvalidParameterValue.FontType"),
        ({"Type": "text", "TextTemplate": {"FontSize": "16"}}, "InvalidParameterValue.FontSize"),
        ({"Type": "text", "TextTemplate": {"FontColor": "#FFFFFF"}}, "InvalidParameterValue.FontColor"),
        ({"Type": "text", "TextTemplate": {"FontAlpha": 0}}, "InvalidParameterValue.FontAlpha"),
    ]
    for params, want in cases:
        assert code_of(c, "CreateWatermarkTemplate", params) == want, params
    text_def = call(c, "CreateWatermarkTemplate", {"Type": "text", "TextTemplate": {}})["Definition"]
    assert code_of(c, "ModifyWatermarkTemplate", {"Definition": text_def, "ImageTemplate": {"ImageContent": png}}) \
        == "InvalidParameterValue.ImageTemplate"
    assert code_of(c, "DescribeWatermarkTemplates", {"Type": "gif"}) == "InvalidParameterValue.Type"

    with srv.client() as h:
        fid = upload_bytes(h, make_flat_clip(tmp_path / "f.mp4", seconds=1).read_bytes(), "f.mp4")
    no_text = {"TranscodeTaskSet": [{"Definition": 100010, "WatermarkSet": [{"Definition": text_def}]}]}
    assert code_of(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": no_text}) \
        == "InvalidParameterValue.TextContent"
    missing = {"TranscodeTaskSet": [{"Definition": 100010, "WatermarkSet": [{"Definition": 999_999_999}]}]}
    assert code_of(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": missing}) \
        == "InvalidParameterValue.Definition"
    svg = {"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "WatermarkSet": [
        {"Definition": text_def, "SvgContent": "<svg/>"}]}]}
    assert code_of(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": svg}) == "UnknownParameter"
    long_text = {"TranscodeTaskSet": [{"Definition": 100010, "WatermarkSet": [
        {"Definition": text_def, "TextContent": "x" * 101}]}]}
    assert code_of(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": long_text}) \
        == "InvalidParameterValue.TextContent"
    # a watermark a procedure uses cannot be deleted
    call(c, "CreateProcedureTemplate", {"Name": "wm-proc", "MediaProcessTask": {"TranscodeTaskSet": [
        {"Definition": 100010, "WatermarkSet": [{"Definition": text_def, "TextContent": "hi"}]}]}})
    assert code_of(c, "DeleteWatermarkTemplate", {"Definition": text_def}) == "ResourceInUse.Template"
    call(c, "DeleteProcedureTemplate", {"Name": "wm-proc"})
    call(c, "DeleteWatermarkTemplate", {"Definition": text_def})


@pytest.mark.slow
def test_a_task_draws_watermarks_on_its_transcode_and_ladder(srv: ServerProc, tmp_path: Path) -> None:
    c = client(srv)
    png = make_image(tmp_path / "logo.png", width=64, height=32, color="0xFF0000")
    image_def = call(c, "CreateWatermarkTemplate", {
        "Type": "image", "CoordinateOrigin": "TopRight", "XPos": "10px", "YPos": "5%",
        "ImageTemplate": {"ImageContent": b64(png), "Width": "20%"}})["Definition"]
    text_def = call(c, "CreateWatermarkTemplate", {
        "Type": "text", "CoordinateOrigin": "BottomLeft", "XPos": "10px", "YPos": "10px",
        "TextTemplate": {"FontSize": "40px", "FontColor": "0xFFFF00"}})["Definition"]
    transcode_def = call(c, "CreateTranscodeTemplate", {
        "Container": "mp4", "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 400, "Width": 320,
                                              "Height": 0},
        "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100}})["Definition"]
    with srv.client() as h:
        fid = upload_bytes(h, make_flat_clip(tmp_path / "flat.mp4", seconds=2).read_bytes(), "flat.mp4")
    marks = [{"Definition": image_def}, {"Definition": text_def, "TextContent": "OPENVOD", "StartTimeOffset": 0.5}]
    flow = {"TranscodeTaskSet": [{"Definition": transcode_def, "WatermarkSet": marks}],
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "WatermarkSet": [{"Definition": image_def}]}]}
    task_id = call(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": flow})["TaskId"]
    deadline = time.monotonic() + 240
    while (d := call(c, "DescribeTaskDetail", {"TaskId": task_id}))["Status"] != "FINISH":
        assert time.monotonic() < deadline, d
        time.sleep(0.5)
    results = d["ProcedureTask"]["MediaProcessResultSet"]
    transcode = results[0]["TranscodeTask"]
    assert transcode["Status"] == "SUCCESS", transcode
    assert transcode["Input"]["WatermarkSet"][1]["TextContent"] == "OPENVOD"
    out = tmp_path / "out.mp4"
    out.write_bytes(fetch(transcode["Output"]["Url"]))
    W, H = 320, 240
    for at, text_shown in ((0.2, False), (1.2, True)):
        rgb = frame_rgb(out, at, W, H)
        assert near(mean(rgb, W, (W - 70, 16, W - 14, 40)), (255, 0, 0), 40), at        # image, top right
        assert near(mean(rgb, W, (W - 120, 16, W - 80, 40)), BACKGROUND), at
        text_box = (10, H - 50, 190, H - 10)
        assert (bright(rgb, W, text_box, (255, 255, 0)) > 0.08) is text_shown, at     # text from 0.5 s
    ads = results[1]["AdaptiveDynamicStreamingTask"]
    assert ads["Status"] == "SUCCESS", ads
    # the ladder as stored (local storage; its file names are escaped on disk), copied out to decode
    stored = next(p for p in srv.data_dir.rglob("*master.m3u8") if fid in p.parts and "10" in p.parts).parent
    ladder = tmp_path / "ladder"
    ladder.mkdir()
    for f in stored.iterdir():
        (ladder / f.name.lstrip("\\")).write_bytes(f.read_bytes())
    rgb = frame_rgb(ladder / "v0.m3u8", 1.0, W, H)
    assert near(mean(rgb, W, (W - 70, 16, W - 14, 40)), (255, 0, 0), 45)
    assert near(mean(rgb, W, (20, 150, 100, 220)), BACKGROUND)
