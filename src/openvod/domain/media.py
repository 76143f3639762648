"""Media value objects and validation."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from enum import StrEnum

from openvod.errors import InvalidParameter

__all__ = ["DeletePart", "MediaState", "media_key", "safe_filename", "validate_class_id", "validate_name"]


class MediaState(StrEnum):
    """The words stored in ``media.state``. A deleted media's row is removed, so it has no state."""

    NORMAL = "normal"


class DeletePart(StrEnum):
    SOURCE = "source"
    COVER = "cover"
    OUTPUTS = "outputs"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, default: str = "source") -> str:
    """A storage-safe file name derived from a user's: ASCII, no separators, <= 100 chars."""
    base = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base.encode("ascii", "ignore").decode()).strip("._")
    return base[-100:] or default


def media_key(file_id: str, filename: str) -> str:
    return f"media/{file_id}/{safe_filename(filename)}"


def guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidParameter("name must be 1-256 characters", code="InvalidParameter.Name")
    if any(ord(c) < 0x20 for c in name):
        raise InvalidParameter("name must not contain control characters", code="InvalidParameter.Name")
    return name


def validate_class_id(class_id: int) -> int:
    if not isinstance(class_id, int) or isinstance(class_id, bool) or class_id < 0 or class_id > 2**53:
        raise InvalidParameter(f"class_id must be a non-negative integer, got {class_id!r}",
                               code="InvalidParameter.ClassId")
    return class_id
