"""Cover images a client uploads beside its media: which types are taken. Pure; no I/O.

Only raster types a browser merely displays are taken (never SVG, which is a document), and the
first bytes must be that format's signature, so a cover is what its ``Content-Type`` says::

    ext = cover_extension(request_type, body[:16])   # InvalidParameter.CoverType if not
"""

from __future__ import annotations

from openvod.errors import InvalidParameter

__all__ = ["COVER_TYPES", "MAX_COVER_BYTES", "cover_extension"]

MAX_COVER_BYTES = 10 * 1024 * 1024

# content type -> (file extension, the byte signatures a file of that type starts with)
COVER_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "image/jpeg": ("jpg", (b"\xff\xd8\xff",)),
    "image/png": ("png", (b"\x89PNG\r\n\x1a\n",)),
    "image/gif": ("gif", (b"GIF87a", b"GIF89a")),
    "image/webp": ("webp", (b"RIFF",)),  # and "WEBP" at offset 8, checked below
    "image/bmp": ("bmp", (b"BM",)),
}


def cover_extension(content_type: str | None, head: bytes) -> str:
    """The file extension of a cover sent as ``content_type`` whose first bytes are ``head``
    (at least 12 of them); ``InvalidParameter`` (``InvalidParameter.CoverType``) unless the type
    is one of :data:`COVER_TYPES` and the bytes are of that type."""
    kind = (content_type or "").partition(";")[0].strip().lower()
    if kind not in COVER_TYPES:
        raise InvalidParameter(f"a cover must be one of {', '.join(COVER_TYPES)}; the request's Content-Type is "
                               f"{(content_type or 'missing')[:80]!r}", code="InvalidParameter.CoverType")
    ext, magics = COVER_TYPES[kind]
    matches = any(head.startswith(m) for m in magics) and (kind != "image/webp" or head[8:12] == b"WEBP")
    if not matches:
        raise InvalidParameter(f"the cover's bytes are not a {kind} file (its first bytes are {head[:12]!r})",
                               code="InvalidParameter.CoverType")
    return ext
