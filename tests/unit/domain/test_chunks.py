"""domain/chunks.py: which transcodes are split into chunks, and where the chunks start."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from openvod.domain.chunks import JOIN_KIND, chunk_prefix, plan_chunks
from openvod.domain.presets import parse_params
from openvod.domain.tasks import JOIN_KINDS

MP4: dict[str, Any] = {"f": "mp4", "VIDEO": {"vcodec": "h264", "width": 640, "height": 360, "as": 1, "vb": "800k"},
       "AUDIO": {"acodec": "aac", "ab": "96k"}}


def _probe(duration: float = 12.0, rate: str = "25/1", avg: str | None = None, audio: bool = True,
           video_start: float = 0.0, cover: bool = False) -> dict[str, Any]:
    streams: list[dict[str, Any]] = [
        {"codec_type": "video", "r_frame_rate": rate, "avg_frame_rate": avg or rate,
         "start_time": str(video_start), "duration": str(duration),
         "disposition": {"attached_pic": int(cover)}}]
    if audio:
        streams.append({"codec_type": "audio", "start_time": "0.0", "duration": str(duration)})
    return {"format": {"start_time": "0.0", "duration": str(duration)}, "streams": streams}


def test_a_long_cfr_source_is_cut_on_frames() -> None:
    plan = plan_chunks(_probe(12.0), parse_params(MP4), 4)
    assert plan is not None and plan.fps == 25 and plan.audio
    assert [(c.index, c.first, c.count) for c in plan.chunks] == [(0, 0, 100), (1, 100, 100), (2, 200, None)]
    # an accurate seek half a frame before the first frame; the first chunk reads from the start
    assert [c.seek for c in plan.chunks] == [None, pytest.approx(3.98), pytest.approx(7.98)]
    assert plan.durations() == [4.0, 4.0, None]


def test_ntsc_rates_cut_on_whole_frames() -> None:
    plan = plan_chunks(_probe(12.012, "30000/1001"), parse_params(MP4), 4)
    assert plan is not None and plan.fps == Fraction(30000, 1001)
    assert [(c.first, c.count) for c in plan.chunks] == [(0, 120), (120, 120), (240, None)]
    assert plan.chunks[1].seek == pytest.approx(float((120 - Fraction(1, 2)) / plan.fps))
    assert plan.durations()[0] == pytest.approx(4.004)


def test_a_short_tail_joins_the_chunk_before_it() -> None:
    assert len(plan_chunks(_probe(12.5), parse_params(MP4), 4).chunks) == 3  # type: ignore[union-attr]
    assert len(plan_chunks(_probe(13.5), parse_params(MP4), 4).chunks) == 4  # type: ignore[union-attr]
    assert plan_chunks(_probe(4.4), parse_params(MP4), 4) is None  # one chunk: one pass


@pytest.mark.parametrize(("probe", "params", "seconds"), [
    (_probe(12.0), MP4, 0),  # off
    (_probe(4.0), MP4, 4),  # not longer than a chunk
    (_probe(12.0, "25/1", "24/1"), MP4, 4),  # variable frame rate
    (_probe(12.0, "0/0"), MP4, 4),  # no rate
    (_probe(12.0, cover=True), MP4, 4),  # cover art is not video
    (_probe(12.0, video_start=0.5), MP4, 4),  # the video starts after the audio
    (_probe(12.0), {**MP4, "VIDEO": {**MP4["VIDEO"], "vr": 30}}, 4),  # a frame rate change
    (_probe(12.0), {**MP4, "f": "hls"}, 4),
    (_probe(12.0), {**MP4, "f": "webm", "VIDEO": {"vcodec": "vp9"}, "AUDIO": {"acodec": "opus"}}, 4),
    (_probe(12.0), {"f": "mp4", "VIDEO": {"vcodec": "copy"}, "AUDIO": {"acodec": "aac"}}, 4),
    (_probe(12.0), {"f": "gif", "VIDEO": {"vcodec": "gif"}}, 4),
    (_probe(12.0), {"f": "m4a", "AUDIO": {"acodec": "aac"}}, 4),
    ({"format": {"duration": "12"}, "streams": []}, MP4, 4),
])
def test_what_runs_in_one_pass(probe: dict[str, Any], params: dict[str, Any], seconds: float) -> None:
    assert plan_chunks(probe, parse_params(params), seconds) is None


def test_what_may_be_chunked() -> None:
    same_rate = {**MP4, "VIDEO": {**MP4["VIDEO"], "vr": 25}}
    mkv_h265 = {"f": "mkv", "VIDEO": {"vcodec": "h265"}, "AUDIO": {"acodec": "opus"}}
    silent = {"f": "mp4", "VIDEO": {"vcodec": "h264"}, "AUDIO": {"an": 1}}
    for params in (MP4, same_rate, mkv_h265, silent):
        assert plan_chunks(_probe(12.0), parse_params(params), 4) is not None, params
    assert not plan_chunks(_probe(12.0, audio=False), parse_params(MP4), 4).audio  # type: ignore[union-attr]
    assert not plan_chunks(_probe(12.0), parse_params(silent), 4).audio  # type: ignore[union-attr]


def test_the_join_is_a_join_and_the_pieces_live_under_the_task() -> None:
    assert JOIN_KIND in JOIN_KINDS
    assert chunk_prefix("app1", "t1") == "app1/.tmp/chunks-t1/"
