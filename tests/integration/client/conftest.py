"""Fixtures of the client tests: test media made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import make_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s 1280x720 H.264/AAC MP4 (several MiB: many 1 MiB tus chunks)."""
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=10, width=1280, height=720)


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s 320x240 clip: fits in one chunk."""
    return make_clip(tmp_path_factory.mktemp("media") / "small.mp4", seconds=1, width=320, height=240)
