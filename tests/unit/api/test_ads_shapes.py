"""Tencent's shape of a CMAF ladder's result: the AdaptiveDynamicStreamingInfoItem fields only."""

from __future__ import annotations

from openvod.api.compat.tencent.shapes import procedure_task


def test_cmaf_output_keeps_tencents_item_fields() -> None:
    output = {"Url": "https://v/master.m3u8", "DashUrl": "https://v/manifest.mpd", "Definition": 1000001,
              "Package": "HLS", "DrmType": "", "Size": 1234, "Rungs": [{"Width": 320, "Height": 240}]}
    pt = procedure_task({"MediaProcessResultSet": [
        {"Type": "AdaptiveDynamicStreaming", "AdaptiveDynamicStreamingTask": {"Status": "SUCCESS", "Output": output}}]})
    out = pt["MediaProcessResultSet"][0]["AdaptiveDynamicStreamingTask"]["Output"]
    assert set(out) == {"Url", "Definition", "Package", "DrmType", "Size", "SubStreamSet"}
    assert out["SubStreamSet"] == [{"Type": "video", "Width": 320, "Height": 240, "Size": 0}]
