"""Who may play a media file without a signature: its own setting, else its app's.

    public = effective_public(app_private=True, media_public=None)   # False: the app is private
    sharing_of(None) == Sharing.APP; sharing_of(True) == Sharing.PUBLIC
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EMBED_MAX_TTL", "EMBED_MIN_TTL", "Sharing", "effective_public", "sharing_of"]

EMBED_MIN_TTL = 60
EMBED_MAX_TTL = 30 * 86400  # a signed embed URL lives at most 30 days: re-issue it for longer


class Sharing(StrEnum):
    PUBLIC = "public"  # this media plays from plain URLs, whatever its app's setting
    PRIVATE = "private"  # this media needs signed URLs, whatever its app's setting
    APP = "app"  # it follows the app's setting (PUT /v1/app/playback)


def sharing_of(media_public: bool | None) -> Sharing:
    """The media's own setting as the API names it (``media.public``: None, True or False)."""
    if media_public is None:
        return Sharing.APP
    return Sharing.PUBLIC if media_public else Sharing.PRIVATE


def effective_public(*, app_private: bool, media_public: bool | None) -> bool:
    """Whether a media file's URLs need no signature: its own setting if it has one, else its app's."""
    return (not app_private) if media_public is None else media_public
