"""One page of an app's media in a chosen order, read by keyset so every page costs the same.

Each sort walks one index — ``(app_id, id)`` for ``created``, ``(app_id, name|size|duration, id)``
for the others — from the marker's ``(value, FileId)`` onwards. Media without a size or duration
come last in both orders; SQLite and PostgreSQL put NULLs at opposite ends of an index, so rather
than ``NULLS LAST`` (which neither can read from the index in both directions) a page is read in
two ranges of the same index: the media that have the value, then — once those run out — the ones
that lack it (``value IS NULL``, an equality on the index's second column), in FileId order.

Substring search (``name``; ``text``: name or description) reads a trigram index rather than
scanning every name: on SQLite the FTS5 table ``media_fts`` (migration 0009) gives the matching
rows, a phrase of the substring's trigrams; on PostgreSQL ``ILIKE '%…%'`` reads the ``pg_trgm``
GIN indexes itself. Either way the cost grows with the number of matches, not with the library.
Fewer than three characters have no trigram: those still scan (``LIKE``), on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, func, literal_column, or_, select, table, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from openvod.db.models import Media
from openvod.domain.media_sort import NULLABLE, Cursor, MediaSort, SortOrder, decode_marker, encode_marker

__all__ = ["MediaQuery", "count_media", "newest_first", "page_of_media"]

_COLUMNS: dict[MediaSort, InstrumentedAttribute[Any]] = {
    MediaSort.CREATED: Media.id,  # FileIds sort by creation time
    MediaSort.NAME: Media.name,
    MediaSort.SIZE: Media.size,
    MediaSort.DURATION: Media.duration,
}


@dataclass(frozen=True)
class MediaQuery:
    """The filters, order and position of one page (see :func:`page_of_media`)."""

    sort: MediaSort = MediaSort.CREATED
    order: SortOrder = SortOrder.DESC
    name: str | None = None  # case-insensitive substring of the name
    text: str | None = None  # case-insensitive substring of the name or the description
    names: tuple[str, ...] = ()  # any of these substrings of the name (Tencent's Names)
    prefixes: tuple[str, ...] = ()  # the name starts with any of these (Tencent's NamePrefixes)
    class_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 20
    marker: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_FTS = table("media_fts", column("rowid"), column("media_fts"))
_TRIGRAM = 3


def _by_trigrams(s: Session, needle: str | None) -> bool:
    return s.get_bind().dialect.name == "sqlite" and needle is not None and len(needle) >= _TRIGRAM


def _contains(s: Session, columns: tuple[InstrumentedAttribute[str], ...], needle: str) -> ColumnElement[bool]:
    """Media whose ``columns`` (any of them) contain ``needle``, case-insensitively, by index."""
    if _by_trigrams(s, needle):
        phrase = '"' + needle.replace('"', '""') + '"'  # an FTS5 string: one phrase, no query syntax
        scope = "{" + " ".join(c.key for c in columns) + "}"
        hits = select(_FTS.c.rowid).where(_FTS.c.media_fts.op("MATCH")(f"{scope} : {phrase}"))
        return literal_column("media.rowid").in_(hits)
    pattern = f"%{_escape_like(needle)}%"
    return or_(*(c.ilike(pattern, escape="\\") for c in columns))


def _starts(s: Session, prefix: str) -> ColumnElement[bool]:
    """Media whose name starts with ``prefix`` (case-insensitively): the trigram index finds the
    names containing it, ``ILIKE 'prefix%'`` keeps those it starts."""
    return and_(_contains(s, (Media.name,), prefix), Media.name.ilike(f"{_escape_like(prefix)}%", escape="\\"))


def _filtered(s: Session, app_id: str, q: MediaQuery) -> Select[Any]:
    if any(_by_trigrams(s, n) for n in (q.name, q.text, *q.names, *q.prefixes)):
        # The matches drive the query (a rowid lookup each, then a sort of the matches), so a search
        # costs what it finds. Given ``app_id = ?`` SQLite would rather walk the app's whole
        # (app_id, id) index in page order, testing each row against the matches: ``+`` (SQLite's
        # "not by index") keeps it from doing so.
        stmt = select(Media).where(literal_column("+media.app_id") == app_id)
    else:
        stmt = select(Media).where(Media.app_id == app_id)
    if q.name:
        stmt = stmt.where(_contains(s, (Media.name,), q.name))
    if q.text:
        stmt = stmt.where(_contains(s, (Media.name, Media.description), q.text))
    if q.names:
        stmt = stmt.where(or_(*(_contains(s, (Media.name,), n) for n in q.names)))
    if q.prefixes:
        stmt = stmt.where(or_(*(_starts(s, p) for p in q.prefixes)))
    if q.class_id is not None:
        stmt = stmt.where(Media.class_id == q.class_id)
    if q.created_from is not None:
        stmt = stmt.where(Media.created_at >= q.created_from)
    if q.created_to is not None:
        stmt = stmt.where(Media.created_at < q.created_to)
    return stmt


def _valued(base: Select[Any], q: MediaQuery, cursor: Cursor | None, n: int) -> Select[Any]:
    """The media that have the sort value, after ``cursor``."""
    col, desc = _COLUMNS[q.sort], q.order is SortOrder.DESC
    if q.sort is MediaSort.CREATED:
        stmt = base
        if cursor is not None:
            stmt = stmt.where(Media.id < cursor.file_id if desc else Media.id > cursor.file_id)
        return stmt.order_by(Media.id.desc() if desc else Media.id).limit(n)
    stmt = base.where(col.is_not(None)) if q.sort in NULLABLE else base
    if cursor is not None:
        # A row-value comparison, alone: both planners read it as a range of the index from
        # (value, FileId); SQLite given a redundant ``col <= value`` too would range on that
        # instead and walk through every tie of the value.
        key, at = tuple_(col, Media.id), tuple_(cursor.value, cursor.file_id)
        stmt = stmt.where(key < at if desc else key > at)
    return stmt.order_by(*((col.desc(), Media.id.desc()) if desc else (col, Media.id))).limit(n)


def _valueless(base: Select[Any], q: MediaQuery, after: str | None, n: int) -> Select[Any]:
    """The media without the sort value, in FileId order, after the FileId ``after``."""
    col, desc = _COLUMNS[q.sort], q.order is SortOrder.DESC
    stmt = base.where(col.is_(None))
    if after is not None:
        stmt = stmt.where(Media.id < after if desc else Media.id > after)
    # Ordering by the (all NULL) value too names the index that holds this range in FileId order:
    # by FileId alone PostgreSQL may walk (app_id, id) and filter, which is slow when NULLs are few.
    return stmt.order_by(*((col.desc(), Media.id.desc()) if desc else (col, Media.id))).limit(n)


def page_of_media(s: Session, app_id: str, q: MediaQuery) -> tuple[list[Media], str | None]:
    """Up to ``q.limit`` media of ``app_id`` after ``q.marker``, and the marker of the next page
    (None on the last). A marker of another sort or order is ``InvalidParameter.Marker``."""
    cursor = decode_marker(q.sort, q.order, q.marker) if q.marker else None
    base = _filtered(s, app_id, q)
    want = q.limit + 1  # one more tells whether a next page exists
    rows: list[Media] = []
    in_nulls = cursor is not None and cursor.value is None and q.sort in NULLABLE
    if not in_nulls:
        rows = list(s.scalars(_valued(base, q, cursor, want)))
    if q.sort in NULLABLE and len(rows) < want:
        rows += s.scalars(_valueless(base, q, cursor.file_id if in_nulls and cursor else None, want - len(rows)))
    if len(rows) <= q.limit:
        return rows, None
    last = rows[q.limit - 1]
    value = None if q.sort is MediaSort.CREATED else getattr(last, _COLUMNS[q.sort].key)
    return rows[: q.limit], encode_marker(q.sort, q.order, value, last.id)


def count_media(s: Session, app_id: str, q: MediaQuery, *, cap: int) -> int:
    """How many media match ``q``'s filters (its order and marker aside), counting no further than
    ``cap``: the count costs at most ``cap`` index entries, however large the library."""
    matching = _filtered(s, app_id, q).with_only_columns(Media.id).limit(cap).subquery()
    return int(s.scalar(select(func.count()).select_from(matching)) or 0)


def newest_first(s: Session, app_id: str, q: MediaQuery) -> Select[Any]:
    """The media matching ``q``'s filters, newest first (to page by offset within a bounded window)."""
    return _filtered(s, app_id, q).order_by(Media.id.desc())
