"""Uploads, the media library and stored objects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openvod.client._base import UNSET, BaseClient, TimeArg, _Unset, iso_arg
from openvod.client.models import Media, MediaPage, ObjectInfo
from openvod.client.tus import ProgressCallback

__all__ = ["LibraryAPI"]


class LibraryAPI(BaseClient):
    """Uploads, the media library and stored objects."""

    # -- uploads -------------------------------------------------------------------------------

    def upload(
        self,
        path: Path | str,
        *,
        procedure: str | None = None,
        class_id: int | None = None,
        on_progress: ProgressCallback | None = None,
        checksum: bool = True,
    ) -> Media:
        """Upload a file (resuming an earlier attempt of the same file) and return its media.

        ``on_progress(sent, total)`` is called from this thread as bytes go out. A client with
        only an upload signature may not read media, so it gets a ``Media`` holding just
        ``file_id`` and ``name``.
        """
        path = Path(path)
        metadata: dict[str, str] = {}
        if procedure:
            metadata["procedure"] = procedure
        if class_id is not None:
            metadata["class_id"] = str(class_id)
        # Same file, different options or identity: a different upload.
        extra = [self.secret_id or "", procedure or "", "" if class_id is None else str(class_id)]
        file_id = self._call(
            lambda: self._uploader.upload(
                path, metadata=metadata, fingerprint_extra=extra, on_progress=on_progress, checksum=checksum
            )
        )
        if self.secret_id is None:
            return Media.from_json({"file_id": file_id, "name": path.name})
        return self.media(file_id)

    # -- media ---------------------------------------------------------------------------------

    def media(self, file_id: str) -> Media:
        """``GET /v1/media/{file_id}``."""
        return Media.from_json(self._json("GET", f"/v1/media/{quote(file_id, safe='')}"))

    def describe_media(self, file_ids: Iterable[str]) -> tuple[list[Media], list[str]]:
        """Several media at once: ``(found, not_found_ids)``."""
        body = self._json("POST", "/v1/media/describe", json={"file_ids": list(file_ids)})
        found = [Media.from_json(m) for m in body.get("items", [])]
        return found, [str(i) for i in body.get("not_found", [])]

    def list_media(
        self,
        *,
        name: str | None = None,
        class_id: int | None = None,
        created_from: TimeArg | None = None,
        created_to: TimeArg | None = None,
        limit: int = 20,
        marker: str | None = None,
        sort: str | None = None,
        order: str | None = None,
    ) -> MediaPage:
        """One page of media; ``name`` matches a case-insensitive substring. ``sort`` is
        ``created`` (the server's default), ``name``, ``size`` or ``duration``, ``order`` ``desc``
        (default) or ``asc``; media without a size or duration come last. Pass the page's
        ``next_marker`` back with the same sort and order."""
        params: dict[str, str | int] = {"limit": limit}
        if sort is not None:
            params["sort"] = sort
        if order is not None:
            params["order"] = order
        if name is not None:
            params["name"] = name
        if class_id is not None:
            params["class_id"] = class_id
        if created_from is not None:
            params["created_from"] = iso_arg(created_from)
        if created_to is not None:
            params["created_to"] = iso_arg(created_to)
        if marker:
            params["marker"] = marker
        body = self._json("GET", "/v1/media", params=params)
        next_marker = body.get("next_marker")
        return MediaPage(
            items=[Media.from_json(m) for m in body.get("items", [])],
            next_marker=str(next_marker) if next_marker else None,
        )

    def iter_media(
        self,
        *,
        name: str | None = None,
        class_id: int | None = None,
        created_from: TimeArg | None = None,
        created_to: TimeArg | None = None,
        page_size: int = 100,
        sort: str | None = None,
        order: str | None = None,
    ) -> Iterator[Media]:
        """Every matching media in ``sort`` and ``order`` (see :meth:`list_media`), fetching
        pages of ``page_size`` as needed."""
        marker: str | None = None
        while True:
            page = self.list_media(
                name=name,
                class_id=class_id,
                created_from=created_from,
                created_to=created_to,
                limit=page_size,
                marker=marker,
                sort=sort,
                order=order,
            )
            yield from page.items
            if not page.next_marker or not page.items:
                return
            marker = page.next_marker

    def modify_media(
        self,
        file_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        class_id: int | None = None,
        expire_at: TimeArg | None | _Unset = UNSET,
    ) -> Media:
        """Change fields of a media; ``expire_at=None`` clears the expiry, leaving it out keeps it."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if class_id is not None:
            body["class_id"] = class_id
        if expire_at is not UNSET:
            body["expire_at"] = None if expire_at is None else iso_arg(expire_at)
        return Media.from_json(self._json("PATCH", f"/v1/media/{quote(file_id, safe='')}", json=body))

    def set_media_public(self, file_id: str, public: bool) -> Media:
        """``PUT /v1/media/{file_id}/sharing``: a public media's URLs are plain and do not expire;
        a private one's are signed (the app's ``playback_url_ttl``)."""
        body = {"public": public}
        return Media.from_json(self._json("PUT", f"/v1/media/{quote(file_id, safe='')}/sharing", json=body))

    def delete_media(self, file_id: str, parts: Iterable[str] | None = None) -> list[str]:
        """Delete ``parts`` (``source``, ``cover``, ``outputs``) or, by default, everything and the
        record; returns the parts the server deleted."""
        params = {"parts": ",".join(parts)} if parts is not None else None
        body = self._json("DELETE", f"/v1/media/{quote(file_id, safe='')}", params=params)
        return [str(p) for p in body.get("deleted", [])]

    def pull_media(
        self,
        url: str,
        *,
        name: str | None = None,
        class_id: int | None = None,
        procedure: str | None = None,
    ) -> Media:
        """Have the server fetch ``url`` and create a media from it."""
        body: dict[str, Any] = {"url": url}
        if name is not None:
            body["name"] = name
        if class_id is not None:
            body["class_id"] = class_id
        if procedure is not None:
            body["procedure"] = procedure
        return Media.from_json(self._json("POST", "/v1/media/pull", json=body))

    # -- objects -------------------------------------------------------------------------------

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        """This app's objects in ``bucket`` whose key starts with ``prefix``."""
        body = self._json("GET", "/v1/objects", params={"bucket": bucket, "prefix": prefix})
        return [ObjectInfo.from_json(o) for o in body.get("items", [])]

    def get_object(self, bucket: str, key: str) -> bytes:
        """The bytes of one object (read into memory: meant for small objects and tests)."""
        response = self._request("GET", f"/v1/objects/{quote(bucket, safe='')}/{quote(key, safe='/')}")
        return response.content
