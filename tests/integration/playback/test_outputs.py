"""What a media file offers: media_outputs (grouped, for the media description) and player_data."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from openvod.api.playback import player_json
from openvod.api.v1.media_schemas import outputs_json
from openvod.errors import NotFound
from openvod.services.playback import media_outputs, player_data
from tests.integration.playback.conftest import Playback
from tests.integration.playback.outputs import Sprites


@pytest.fixture(scope="module")
def processed(pb: Playback, clip6: Path, ladder: Path, sprites: Sprites) -> str:
    """A media file of the private app with one output of every kind; returns its FileId."""
    t = pb.private
    file_id = t.upload(pb.server, clip6.read_bytes(), "processed.mp4")
    lib = t.lib
    lib.put(file_id, "cover.jpg", b"cover", role="cover", info={"width": 320, "height": 180})
    lib.put_tree(file_id, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8", definition=10,
                 info={"definition": 10})
    lib.put(file_id, "sprite/sheet_0.jpg", sprites.sheet.read_bytes(), role="ImageSprite.part", definition=10)
    lib.put(file_id, "sprite/sprites.vtt", sprites.vtt.read_bytes(), role="ImageSprite", definition=10,
            info={"vtt": True})
    lib.put(file_id, "t/360.mp4", clip6.read_bytes(), role="Transcode", definition=100020,
            info={"width": 640, "height": 360, "container": "mp4"})
    lib.put(file_id, "t/720.mp4", clip6.read_bytes(), role="Transcode", definition=100030,
            info={"width": 1280, "height": 720, "container": "mp4"})
    lib.put(file_id, "t/360.flv", b"flv", role="Transcode", definition=100021,
            info={"width": 640, "height": 360, "container": "flv"})
    lib.put(file_id, "anim.gif", b"GIF89a", role="AnimatedGraphics", definition=20000,
            info={"width": 320, "height": 180, "container": "gif", "start_time": 0, "end_time": 3})
    lib.put(file_id, "shot/1.jpg", b"s1", role="SnapshotByTimeOffset", definition=10, info={"time_offset": 1000})
    lib.put(file_id, "shot/2.jpg", b"s2", role="SnapshotByTimeOffset", definition=10, info={"time_offset": 2000})
    lib.put(file_id, "sample/0.jpg", b"ss", role="SampleSnapshot", definition=10, info={"sample_type": "Percent"})
    return file_id


def _fetch(url: str) -> httpx.Response:
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, (url, r.text)
    return r


def test_media_outputs_grouped(pb: Playback, processed: str) -> None:
    out = outputs_json(media_outputs(pb.ctx, pb.private.app_id, processed))
    assert set(out) == {"transcodes", "animated_graphics", "snapshots", "sample_snapshots", "image_sprites",
                        "adaptive_streams", "cover"}
    assert [(t["definition"], t["height"], t["container"]) for t in out["transcodes"]] == [
        (100020, 360, "mp4"), (100030, 720, "mp4"), (100021, 360, "flv")]
    assert [s["time_offset"] for s in out["snapshots"]] == [1000, 2000]
    assert out["sample_snapshots"][0]["sample_type"] == "Percent"
    assert out["animated_graphics"][0] | {"url": ""} == {
        "url": "", "size": 6, "definition": 20000, "width": 320, "height": 180, "container": "gif",
        "start_time": 0, "end_time": 3}
    # One adaptive stream (the master playlist); its variant playlists and segments are parts.
    assert len(out["adaptive_streams"]) == 1
    assert out["adaptive_streams"][0]["url"].split("?")[0].endswith("/hls/master.m3u8")
    sprite = out["image_sprites"]
    assert len(sprite) == 1 and sprite[0]["vtt"] is True
    assert [u.split("?")[0].rsplit("/", 1)[1] for u in sprite[0]["sheets"]] == ["sheet_0.jpg"]
    assert out["cover"]["width"] == 320 and out["cover"]["size"] == 5
    everything = [out["cover"], *[i for k, v in out.items() if k != "cover" for i in v]]
    for item in everything:
        assert item["url"].startswith(f"{pb.url}/files/vod/{pb.private.app_id}/media/{processed}/")
        assert "signature=" in item["url"]  # private app
        body = _fetch(item["url"]).content
        if not item["url"].split("?")[0].endswith((".m3u8", ".vtt")):  # those are served rewritten
            assert len(body) == item["size"]


def test_media_outputs_of_unprocessed_media(pb: Playback, clip6: Path) -> None:
    file_id = pb.private.upload(pb.server, clip6.read_bytes(), "bare.mp4")
    out = outputs_json(media_outputs(pb.ctx, pb.private.app_id, file_id))
    assert out == {"transcodes": [], "animated_graphics": [], "snapshots": [], "sample_snapshots": [],
                   "image_sprites": [], "adaptive_streams": [], "cover": None}


def test_media_of_another_app_is_not_found(pb: Playback, processed: str) -> None:
    with pytest.raises(NotFound):
        media_outputs(pb.ctx, pb.public.app_id, processed)
    with pytest.raises(NotFound):
        player_data(pb.ctx, pb.public.app_id, processed)


def test_player_data(pb: Playback, processed: str) -> None:
    data = player_json(player_data(pb.ctx, pb.private.app_id, processed))
    assert set(data) == {"file_id", "name", "poster", "hls", "dash", "mp4", "sprites_vtt", "duration", "subtitles"}
    assert data["dash"] is None  # an HLS ladder only
    assert data["file_id"] == processed and data["name"] == "processed.mp4"
    assert data["hls"].split("?")[0].endswith("/hls/master.m3u8")
    assert data["mp4"].split("?")[0].endswith("/t/720.mp4")  # the tallest MP4
    assert data["poster"].split("?")[0].endswith("/cover.jpg")
    assert data["sprites_vtt"].split("?")[0].endswith("/sprite/sprites.vtt")
    assert data["duration"] == pytest.approx(6.0, abs=0.2)
    for key in ("hls", "mp4", "poster", "sprites_vtt"):
        _fetch(data[key])


def test_sprite_index_references_are_signed(pb: Playback, processed: str, sprites: Sprites) -> None:
    vtt = _fetch(player_json(player_data(pb.ctx, pb.private.app_id, processed))["sprites_vtt"])
    assert vtt.headers["content-type"].startswith("text/vtt")
    refs = [line for line in vtt.text.splitlines() if "#xywh=" in line]
    assert len(refs) == 6
    for i, ref in enumerate(refs):
        url, frag = ref.split("#")
        assert frag == f"xywh={(i % 3) * 160},{(i // 3) * 90},160,90"
        assert url.startswith(pb.url) and "signature=" in url
    sheet = _fetch(refs[0].split("#")[0])
    assert sheet.headers["content-type"] == "image/jpeg"
    assert sheet.content == sprites.sheet.read_bytes()


def test_player_data_falls_back_to_the_source_mp4(pb: Playback, clip6: Path) -> None:
    file_id = pb.private.upload(pb.server, clip6.read_bytes(), "only-source.mp4")
    data = player_json(player_data(pb.ctx, pb.private.app_id, file_id))
    assert data["hls"] is None and data["poster"] is None and data["sprites_vtt"] is None
    assert data["mp4"] is not None
    assert _fetch(data["mp4"]).content == clip6.read_bytes()
