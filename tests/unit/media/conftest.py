"""Media shared by the media-layer tests, generated once per session (see tests/media.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import make_audio, make_clip


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip_720p(media_dir: Path) -> Path:
    """10 s, 1280x720, 25 fps H.264 + AAC, ``moov`` at the end."""
    return make_clip(media_dir / "clip_720p.mp4")


@pytest.fixture(scope="session")
def small_clip(media_dir: Path) -> Path:
    """2 s, 320x240, 25 fps H.264 + AAC."""
    return make_clip(media_dir / "small.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    """3 s AAC in M4A."""
    return make_audio(media_dir / "tone.m4a", 3)
