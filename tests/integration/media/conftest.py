"""Tiny sources for the transcode tests, made once per session (see tests/media.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openvod.media.ffmpeg import run_ffmpeg
from tests.media import make_clip


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode-sources")


@pytest.fixture(scope="session")
def clip(sources: Path) -> Path:
    """2 s, 320x240 (4:3), 25 fps H.264 + mono 44.1 kHz AAC (a 1 kHz tone)."""
    return make_clip(sources / "clip.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="session")
def silent_wide(sources: Path) -> Path:
    """1 s, 160x90 (16:9), 25 fps H.264, no audio."""
    return make_clip(sources / "silent_wide.mp4", seconds=1, width=160, height=90, audio=False)


@pytest.fixture(scope="session")
def odd_clip(sources: Path) -> Path:
    """2 s, 321x241 (odd sides, so 4:4:4) H.264 + AAC."""
    return make_clip(sources / "odd.mp4", seconds=2, width=321, height=241, pix_fmt="yuv444p")


@pytest.fixture(scope="session")
def clip4(sources: Path) -> Path:
    """4 s, 640x360 H.264, no audio: long enough for a bitrate to settle."""
    return make_clip(sources / "clip4.mp4", seconds=4, width=640, height=360, audio=False)


@pytest.fixture(scope="session")
def left_white(sources: Path) -> Path:
    """1 s, 320x240 H.264, no audio: the left half white, the right half black (shows rotation)."""
    path = sources / "left_white.mp4"
    picture = "color=black:size=320x240:rate=25:duration=1,drawbox=x=0:y=0:w=160:h=240:color=white:t=fill"
    run_ffmpeg(["-f", "lavfi", "-i", picture, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                str(path)], timeout=60)
    return path
