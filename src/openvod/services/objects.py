"""Bookkeeping of stored objects: every stored byte is reachable from the ``object`` table.

Every read and write of that table outside the media library goes through here (the S3/COS
gateway, ``/v1/objects``, the processing jobs' :func:`register_object`). Keys are physical
(``{app_id}/...``) and every query is scoped to one app.

Keys under a prefix are a range of the ``(app_id, bucket, key)`` index, ``prefix <= key < end``
(:func:`~openvod.domain.keys.prefix_end`), not a ``LIKE``: SQLite plans ``key LIKE ? || '%'`` as a walk of the whole
bucket. Listings resume after a key (``key > marker``) and seek past the keys they roll up into a
common prefix, so a page reads about as many rows as it lists.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from openvod.db.models import Object, utcnow
from openvod.domain.keys import prefix_end
from openvod.domain.views.objects import ObjectPage, ObjectView
from openvod.runtime import Context
from openvod.storage.base import ObjectStat

__all__ = ["delete_object_rows", "find_object", "list_objects", "list_page", "list_under", "register_object",
           "unregister_object", "view_of"]

# Rows a listing asks for after it seeks past a common prefix: enough for a run of keys, few
# enough that a run of prefixes (one seek each) reads little it does not list.
_SEEK_BATCH = 16


def _under(key_prefix: str, *, after: str = "", seek: str = "") -> ColumnElement[bool]:
    """The keys that start with ``key_prefix``, as a range of the key index: those above ``after``,
    or from ``seek`` on, when given."""
    if seek:
        low = Object.key >= seek
    elif after and after >= key_prefix:
        low = Object.key > after
    else:
        low = Object.key >= key_prefix
    end = prefix_end(key_prefix)
    return low if end is None else and_(low, Object.key < end)


def view_of(row: Object) -> ObjectView:
    """The read model of an ``object`` row."""
    return ObjectView(app_id=row.app_id, bucket=row.bucket, key=row.key, size=row.size, etag=row.etag,
                      content_type=row.content_type, role=row.role, created_at=row.created_at,
                      media_id=row.media_id, definition=row.definition, info=dict(row.info or {}))


def find_object(ctx: Context, app_id: str, bucket: str, key: str) -> ObjectView | None:
    """The app's row of physical ``bucket``/``key``, if any."""
    with ctx.db.session() as s:
        row = s.scalar(select(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.key == key))
        return view_of(row) if row is not None else None


def list_objects(ctx: Context, app_id: str, bucket: str, prefix: str = "", *, limit: int = 1000) -> list[ObjectView]:
    """The app's objects in ``bucket`` whose logical key starts with ``prefix``, by key, at most ``limit``."""
    with ctx.db.session() as s:
        q = (select(Object).where(Object.app_id == app_id, Object.bucket == bucket, _under(f"{app_id}/{prefix}"))
             .order_by(Object.key).limit(limit))
        return [view_of(o) for o in s.scalars(q)]


def list_under(ctx: Context, app_id: str, bucket: str, key_prefix: str, *, role: str, after: str = "",
               limit: int | None = None) -> list[ObjectView]:
    """The app's objects of ``role`` whose physical key starts with ``key_prefix``, by key: those
    after the physical key ``after`` (when given), at most ``limit`` (when given)."""
    with ctx.db.session() as s:
        rows = s.scalars(select(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.role == role,
                                              _under(key_prefix, after=after)).order_by(Object.key).limit(limit))
        return [view_of(o) for o in rows]


def list_page(ctx: Context, app_id: str, bucket: str, *, prefix: str = "", delimiter: str = "", after: str = "",
              max_keys: int = 1000, hidden_roles: Collection[str] = ()) -> ObjectPage:
    """One page of a listing of the app's ``bucket`` in logical keys, as S3's ListObjects pages:
    keys after ``after`` that start with ``prefix``; with a ``delimiter``, keys with it past the
    prefix are rolled up into common prefixes, and a prefix at or before ``after`` is not listed
    again. Objects of ``hidden_roles`` are left out.

    It reads the rows it lists and, for each common prefix, one row and an index seek past the
    rest: never the keys a prefix rolls up, nor those before ``after``."""
    base = f"{app_id}/"
    contents: list[ObjectView] = []
    prefixes: list[str] = []
    last = ""
    resume, seek = base + after if after else "", ""  # read above ``resume``, or from ``seek`` on
    with ctx.db.session() as s:
        while True:
            room = max_keys - len(contents) - len(prefixes) + 1  # one more: is the listing truncated?
            limit = min(room, _SEEK_BATCH) if seek else room
            rows = _rows(s, app_id, bucket, base + prefix, after=resume, seek=seek, limit=limit,
                         hidden_roles=hidden_roles)
            for row in rows:
                key = row.key[len(base):]
                i = key.find(delimiter, len(prefix)) if delimiter else -1
                entry = key[: i + len(delimiter)] if i >= 0 else None
                # What a page ends on (a key, or a common prefix) is where the next one starts: keys
                # rolled up into a prefix at or before ``after`` were listed with it.
                if not (after and (entry or key) <= after):
                    if len(contents) + len(prefixes) >= max_keys:
                        return ObjectPage(tuple(contents), tuple(prefixes), True, last)
                    if entry is None:
                        contents.append(view_of(row))
                    else:
                        prefixes.append(entry)
                    last = entry or key
                if entry is not None:
                    # Every key under the prefix rolls up into it: read on past them all.
                    seek = prefix_end(base + entry) or ""
                    break
            else:
                if len(rows) < limit:
                    break
                resume, seek = rows[-1].key, ""
                continue
            if not seek:
                break
    return ObjectPage(tuple(contents), tuple(prefixes), False, last)


def _rows(s: Session, app_id: str, bucket: str, key_prefix: str, *, after: str, seek: str, limit: int,
          hidden_roles: Collection[str]) -> Sequence[Object]:
    return s.scalars(select(Object).where(Object.app_id == app_id, Object.bucket == bucket,
                                          _under(key_prefix, after=after, seek=seek),
                                          Object.role.not_in(list(hidden_roles)))
                     .order_by(Object.key).limit(limit)).all()


def unregister_object(ctx: Context, app_id: str, bucket: str, key: str) -> None:
    """Forget the app's row of physical ``bucket``/``key`` (the bytes are the caller's to delete)."""
    with ctx.db.session() as s:
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.key == key))


def delete_object_rows(ctx: Context, app_id: str, bucket: str, *, keys: Collection[str] = (),
                       key_prefix: str | None = None) -> None:
    """Forget, in one transaction, the app's rows of ``keys`` and of every key under ``key_prefix``."""
    with ctx.db.session() as s:
        if key_prefix is not None:
            s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, _under(key_prefix)))
        if keys:
            s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket,
                                           Object.key.in_(list(keys))))


def register_object(ctx: Context, app_id: str, stat: ObjectStat, *, role: str, acl: str = "private",
                    media_id: str | None = None, definition: int | None = None,
                    info: dict[str, Any] | None = None, replaced: bool = False) -> None:
    """Insert or update the row of a physical object (idempotent, so a retried job is harmless).
    ``replaced``: the bytes were written anew (an S3 PUT over an object), so its time
    (``created_at``, S3's Last-Modified) is now even when the row exists."""
    with ctx.db.session() as s:
        row = s.scalar(select(Object).where(Object.app_id == app_id, Object.bucket == stat.bucket,
                                            Object.key == stat.key))
        if row is None:
            row = Object(app_id=app_id, bucket=stat.bucket, key=stat.key)
            s.add(row)
        elif replaced:
            row.created_at = utcnow()
        row.size, row.etag, row.content_type = stat.size, stat.etag, stat.content_type
        row.role, row.acl, row.media_id = role, acl, media_id
        row.definition, row.info = definition, info
