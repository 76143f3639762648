"""Serving a DASH manifest: each relative segment reference becomes its own signed URL (XML-escaped),
templates and foreign references stay as they are."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from openvod.config import Settings
from openvod.runtime import Context
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context
from openvod.services.playback import FileAccess, content_type
from openvod.services.playback_dash import DASH_TYPE, rewrite_mpd

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
MPD = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4.000S">
<Period><AdaptationSet contentType="video">
<Representation id="v0" bandwidth="1"><SegmentList timescale="1000">
<Initialization sourceURL="v0_init.mp4"/><SegmentTimeline><S t="0" d="4000"/></SegmentTimeline>
<SegmentURL media="v0_00000.m4s"/><SegmentURL media="https://cdn.example/x.m4s"/>
</SegmentList></Representation>
<Representation id="v1" bandwidth="1"><BaseURL>sub/</BaseURL>
<SegmentTemplate initialization="v1_init.mp4" media="v1_$Number%05d$.m4s" timescale="1000" duration="4000"/>
</Representation></AdaptationSet></Period></MPD>
"""


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path))
    yield c
    c.db.dispose()


def test_segments_are_signed_one_by_one(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    key = f"{app_id}/media/123/AdaptiveDynamicStreaming/20/manifest.mpd"
    assert content_type(key) == DASH_TYPE
    out = rewrite_mpd(ctx, FileAccess(app_id, private=True), "vod", key, MPD)
    root = ET.fromstring(out)  # still well-formed: the URLs' & are escaped
    init = root.find(".//d:Initialization", NS)
    media = [u.attrib["media"] for u in root.iterfind(".//d:SegmentURL", NS)]
    assert init is not None
    for url, name in ((init.attrib["sourceURL"], "v0_init.mp4"), (media[0], "v0_00000.m4s")):
        parts = urlsplit(url)
        assert parts.path.endswith(f"/files/vod/{app_id}/media/123/AdaptiveDynamicStreaming/20/{name}")
        assert set(parse_qs(parts.query)) == {"expires", "signature"}
    assert media[1] == "https://cdn.example/x.m4s"  # not ours: left alone
    template = root.find(".//d:SegmentTemplate", NS)
    assert template is not None and template.attrib["media"] == "v1_$Number%05d$.m4s"  # cannot be signed per file
    assert "&amp;signature=" in out
    assert "<BaseURL>sub/</BaseURL>" in out  # a directory: left as it is
