"""Which cover images are taken: a raster type, and bytes of that type."""

from __future__ import annotations

import pytest

from openvod.domain.covers import cover_extension
from openvod.errors import InvalidParameter

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(("kind", "head", "ext"), [
    ("image/png", PNG, "png"),
    ("IMAGE/PNG; charset=binary", PNG, "png"),
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "jpg"),
    ("image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00", "gif"),
    ("image/webp", WEBP, "webp"),
    ("image/bmp", b"BM" + bytes(14), "bmp"),
])
def test_raster_images_of_their_type(kind: str, head: bytes, ext: str) -> None:
    assert cover_extension(kind, head) == ext


@pytest.mark.parametrize(("kind", "head"), [
    ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'>"),  # a document, never a cover
    ("text/html", PNG),
    (None, PNG),
    ("image/png", b"<html><script>alert(1)</script>"),  # says PNG, is HTML
    ("image/jpeg", PNG),
    ("image/webp", b"RIFF\x10\x00\x00\x00WAVEfmt "),  # RIFF, but audio
    ("image/png", b""),
])
def test_anything_else_is_refused(kind: str | None, head: bytes) -> None:
    with pytest.raises(InvalidParameter) as e:
        cover_extension(kind, head)
    assert e.value.code == "InvalidParameter.CoverType"
