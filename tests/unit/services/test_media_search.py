"""Media name/description search by trigram index (services/media_list.py, migration 0009), on
SQLite (FTS5) and PostgreSQL (pg_trgm): the right rows, the index used, kept in step with edits;
and SearchMedia's other filters (services.media.search_media): the rows, and SQLite's plans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, text, update
from sqlalchemy.orm import Session

from openvod.config import Settings
from openvod.db.migrate import upgrade
from openvod.db.models import App, Media, utcnow
from openvod.db.session import Database
from openvod.domain.media_sort import SortOrder
from openvod.runtime import Context
from openvod.services import media as media_svc
from openvod.services import media_list
from openvod.services.context import build_context
from openvod.services.media_list import MediaQuery, page_of_media

APP = "app-search"
NAMES = {
    "1000000000001000001": ("Holiday-in-Rome.mp4", ""),
    "1000000000002000002": ("lecture 50% off_final.mov", "a talk about discounts"),
    "1000000000003000003": ('say "cheese" AND smile*.mp4', ""),
    "1000000000004000004": ("我的视频素材.mp4", "春节 holiday 回家"),
    "1000000000005000005": ("trailer.mp4", "Behind the scenes of ROME"),
    "1000000000006000006": ("Éclair ÉTÉ.mp4", ""),
}


@pytest.fixture()
def db(database_url: str | None, tmp_path: Path) -> Iterator[Database]:
    d = _library(database_url or f"sqlite:///{tmp_path / 'search.db'}")
    yield d
    d.dispose()


def _library(url: str) -> Database:
    d = Database(url)
    upgrade(d)
    now = utcnow()
    with d.session() as s:
        s.execute(insert(App).values(id=APP, name="search", sub_app_id=7, is_default=False, created_at=now,
                                     callback_method="POST", playback_private=True))
        for fid, (name, description) in NAMES.items():
            s.add(Media(id=fid, app_id=APP, name=name, description=description, source_bucket="vod",
                        source_key=f"{APP}/{fid}.mp4", created_at=now))
    return d


def _find(d: Database, **query: str) -> list[str]:
    with Session(d.engine) as s:
        rows, _ = page_of_media(s, APP, MediaQuery(limit=100, **query))  # type: ignore[arg-type]
        return sorted(r.name for r in rows)


def test_substrings_of_names_case_insensitively(db: Database) -> None:
    assert _find(db, name="holi") == ["Holiday-in-Rome.mp4"]
    assert _find(db, name="ROME") == ["Holiday-in-Rome.mp4"]
    assert _find(db, name=".mp4") == sorted(n for n, _ in NAMES.values() if n.endswith(".mp4"))
    assert _find(db, name="视频素") == ["我的视频素材.mp4"]
    assert _find(db, name="视频") == ["我的视频素材.mp4"]  # under three characters: a scan, same answer
    assert _find(db, name="xyz-none") == []


def test_query_syntax_and_like_wildcards_are_plain_text(db: Database) -> None:
    assert _find(db, name="50% off_") == ["lecture 50% off_final.mov"]
    assert _find(db, name="0%") == ["lecture 50% off_final.mov"]
    assert _find(db, name='"cheese" AND') == ['say "cheese" AND smile*.mp4']
    assert _find(db, name="smile*") == ['say "cheese" AND smile*.mp4']
    assert _find(db, name="%%%") == []
    assert _find(db, name="AND") == ['say "cheese" AND smile*.mp4']


def test_text_matches_the_name_or_the_description(db: Database) -> None:
    assert _find(db, text="rome") == ["Holiday-in-Rome.mp4", "trailer.mp4"]
    assert _find(db, text="holiday") == ["Holiday-in-Rome.mp4", "我的视频素材.mp4"]
    assert _find(db, name="holiday") == ["Holiday-in-Rome.mp4"]  # name only
    assert _find(db, text="discount") == ["lecture 50% off_final.mov"]


def test_the_index_follows_renames_and_deletions(db: Database) -> None:
    with db.session() as s:
        s.execute(update(Media).where(Media.id == "1000000000005000005").values(name="teaser-cut.mp4"))
        s.execute(delete(Media).where(Media.id == "1000000000001000001"))
    assert _find(db, name="trailer") == []
    assert _find(db, name="teaser") == ["teaser-cut.mp4"]
    assert _find(db, text="rome") == ["teaser-cut.mp4"]  # the description still says ROME


def test_the_search_reads_the_trigram_index(db: Database) -> None:
    with Session(db.engine) as s:
        from openvod.services.media_list import _filtered
        stmt = _filtered(s, APP, MediaQuery(name="holiday")).order_by(Media.id.desc()).limit(21)
        compiled = stmt.compile(db.engine, compile_kwargs={"render_postcompile": True, "literal_binds": True})
        if db.engine.dialect.name == "sqlite":
            plan = " | ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and "media_fts" in plan, plan
            assert "SEARCH media USING INTEGER PRIMARY KEY" in plan, plan  # each match looked up
        else:
            # With fifty thousand other media and statistics, PostgreSQL answers a rare substring
            # from the trigram index (a common one it may rather read in page order: both cheap).
            s.execute(text("INSERT INTO media (id, app_id, name, description, class_id, source_bucket, source_key, "
                           "media_type, state, source_context, session_context, procedure, task_priority, "
                           "task_notify_mode, storage_region, created_at, updated_at) "
                           f"SELECT lpad(i::text, 19, '0'), '{APP}', 'lecture-' || i || '.mp4', '', 0, 'vod', 'k', "
                           "'video', 'Normal', '', '', '', 0, 'Finish', '', now(), now() "
                           "FROM generate_series(1, 50000) i"))
            s.execute(text("ANALYZE media"))
            plan = " | ".join(str(r[0]) for r in s.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_media_name_trgm" in plan, plan


def test_search_still_finds_after_the_sqlite_file_is_rebuilt(tmp_path: Path) -> None:
    from openvod.services.stored_secrets import _scrub_sqlite
    db = _library(f"sqlite:///{tmp_path / 'vacuumed.db'}")
    try:
        with db.session() as s:
            s.execute(delete(Media).where(Media.id.in_(["1000000000001000001", "1000000000002000002"])))
        _scrub_sqlite(db)  # VACUUM (may renumber media's rowids), then rebuild media_fts
        assert _find(db, text="rome") == ["trailer.mp4"]
        assert _find(db, name="视频素") == ["我的视频素材.mp4"]
    finally:
        db.dispose()


def test_tencent_search_filters_window_and_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """services.media.search_media, SearchMedia's service: Names (any), NamePrefixes (any), Text,
    ClassId together; offset within the window; TotalCount counted no further than the window."""
    from openvod.errors import InvalidParameter
    ctx = build_context(Settings(data_dir=tmp_path, workers=0))
    try:
        with ctx.db.session() as s:
            s.execute(insert(App).values(id=APP, name="search", sub_app_id=7, is_default=False, created_at=utcnow(),
                                         callback_method="POST", playback_private=True))
            for i, name in enumerate(["Holiday-Rome.mp4", "holiday-paris.mp4", "lecture-rome.mov", "Rome.mp4",
                                      "trailer.mp4", "a-trailer.mp4"]):
                s.add(Media(id=f"10000000000{i:02d}000000", app_id=APP, name=name, description="", class_id=i % 2,
                            source_bucket="vod", source_key=f"{APP}/{i}.mp4", created_at=utcnow()))

        def names(**kw: object) -> tuple[list[str], int]:
            items, total = media_svc.search_media(ctx, APP, MediaQuery(**kw), offset=0,  # type: ignore[arg-type]
                                                  limit=10)
            return [m.name for m in items], total

        assert names(names=("rome", "paris")) == (["Rome.mp4", "lecture-rome.mov", "holiday-paris.mp4",
                                                  "Holiday-Rome.mp4"], 4)  # newest first
        assert names(prefixes=("holi", "trailer")) == (["trailer.mp4", "holiday-paris.mp4", "Holiday-Rome.mp4"], 3)
        assert names(prefixes=("tr",)) == (["trailer.mp4"], 1)  # a short prefix: no trigram, same answer
        assert names(names=("rome",), class_id=1) == (["Rome.mp4"], 1)
        page, total = media_svc.search_media(ctx, APP, MediaQuery(), offset=2, limit=2)
        assert [m.name for m in page] == ["Rome.mp4", "lecture-rome.mov"] and total == 6
        assert media_svc.search_media(ctx, APP, MediaQuery(), offset=6, limit=2) == ([], 6)
        monkeypatch.setattr(media_svc, "SEARCH_WINDOW", 4)
        assert media_svc.search_media(ctx, APP, MediaQuery(), offset=0, limit=2)[1] == 4  # counted to the window
        with pytest.raises(InvalidParameter):
            media_svc.search_media(ctx, APP, MediaQuery(), offset=3, limit=2)  # past the window
    finally:
        ctx.db.dispose()


# --- SearchMedia's other filters: what each selects, and the plan of its page and count queries ---

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _fid(minted: datetime, n: int) -> str:
    """A FileId as openvod.ids.new_file_id makes them, minted at ``minted``."""
    return f"{int(minted.timestamp() * 1000):013d}{n:06d}"


# (FileId minted, created, media_type, class_id, expires, description) of each media, oldest FileId first.
LIBRARY = {
    "old-video": (NOW - 30 * DAY, NOW - 30 * DAY, "video", 1, None, "an old holiday"),
    # Uploaded over twenty hours: its FileId (the upload's start) is older than its creation.
    "slow-audio": (NOW - 3 * DAY - timedelta(hours=20), NOW - 3 * DAY + timedelta(hours=1), "audio", 2,
                   NOW + 10 * DAY, "a long talk"),
    "image": (NOW - 3 * DAY + timedelta(hours=2), NOW - 3 * DAY + timedelta(hours=2), "image", 3, NOW + 2 * DAY,
              "a holiday photo"),
    "not-media": (NOW - 2 * DAY, NOW - 2 * DAY, "unknown", 1, NOW - DAY, ""),
    "new-video": (NOW - DAY, NOW - DAY, "video", 2, None, "the holiday film"),
}
IDS = {key: _fid(minted, n) for n, (key, (minted, *_)) in enumerate(LIBRARY.items())}


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, workers=0))
    with c.db.session() as s:
        s.execute(insert(App).values(id=APP, name="search", sub_app_id=7, is_default=False, created_at=NOW,
                                     callback_method="POST", playback_private=True))
        for key, (_minted, created, media_type, class_id, expires, description) in LIBRARY.items():
            s.add(Media(id=IDS[key], app_id=APP, name=f"{key}.bin", description=description, class_id=class_id,
                        media_type=media_type, source_bucket="vod", source_key=f"{APP}/{key}.bin",
                        created_at=created, expire_at=expires))
    yield c
    c.db.dispose()


def _search(ctx: Context, **kw: Any) -> tuple[list[str], int]:
    """The keys of the media SearchMedia's service finds, in its order, and its total."""
    keys = {fid: key for key, fid in IDS.items()}
    items, total = media_svc.search_media(ctx, APP, MediaQuery(**kw), offset=0, limit=100)
    return [keys[m.file_id] for m in items], total


def test_each_filter_selects_any_of_its_values_and_all_filters_apply(ctx: Context) -> None:
    assert _search(ctx) == (["new-video", "not-media", "image", "slow-audio", "old-video"], 5)
    assert _search(ctx, order=SortOrder.ASC)[0] == ["old-video", "slow-audio", "image", "not-media", "new-video"]
    assert _search(ctx, class_ids=(2, 3)) == (["new-video", "image", "slow-audio"], 3)
    assert _search(ctx, class_ids=(2,), class_id=3) == ([], 0)  # ClassId and ClassIds both apply
    # A file that is not media is shown as a Video, so it is one here too.
    assert _search(ctx, categories=("video",)) == (["new-video", "not-media", "old-video"], 3)
    assert _search(ctx, categories=("audio", "image")) == (["image", "slow-audio"], 2)
    assert _search(ctx, file_ids=(IDS["image"], IDS["old-video"], "1700000000000000000")) == (
        ["image", "old-video"], 2)
    assert _search(ctx, descriptions=("holiday",), categories=("video",)) == (["new-video", "old-video"], 2)
    assert _search(ctx, uploaded=True)[1] == 5  # every media came by upload
    assert _search(ctx, uploaded=False) == ([], 0)
    assert _search(ctx, streams=("live-1",)) == ([], 0)  # OpenVOD records no live streams


def test_a_creation_range_is_by_creation_time_even_for_a_slow_upload(ctx: Context) -> None:
    # [-3 days, -2 days): the slow upload was created in it though its FileId was minted before.
    assert _search(ctx, created_from=NOW - 3 * DAY, created_to=NOW - 2 * DAY) == (["image", "slow-audio"], 2)
    assert _search(ctx, created_from=NOW - 3 * DAY + timedelta(hours=2)) == (["new-video", "not-media", "image"], 3)
    assert _search(ctx, created_to=NOW - 2 * DAY, order=SortOrder.ASC)[0] == ["old-video", "slow-audio", "image"]
    assert _search(ctx, created_from=NOW, created_to=NOW + DAY) == ([], 0)
    assert _search(ctx, created_from=datetime(1, 1, 1, tzinfo=UTC), created_to=datetime(9999, 1, 1, tzinfo=UTC))[1] == 5


def test_an_expiry_range_keeps_media_that_never_expire_only_without_an_end(ctx: Context) -> None:
    assert _search(ctx, expire_from=NOW) == (["new-video", "image", "slow-audio", "old-video"], 4)
    assert _search(ctx, expire_from=NOW, expire_to=NOW + 10 * DAY) == (["image"], 1)
    assert _search(ctx, expire_to=NOW) == (["not-media"], 1)


def _plans(ctx: Context, q: MediaQuery) -> dict[str, str]:
    """The plans of the count and page queries one search_media call runs, by kind."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM media" in statement and ("ORDER BY media.id" in statement or statement.startswith("SELECT count")):
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        media_svc.search_media(ctx, APP, q, offset=0, limit=10)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    plans = {}
    with ctx.db.engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans["count" if statement.startswith("SELECT count") else "page"] = " | ".join(str(r[-1]) for r in rows)
    return plans


@pytest.mark.parametrize(("query", "range_"), [
    (MediaQuery(), ""),
    (MediaQuery(order=SortOrder.ASC), ""),
    (MediaQuery(class_ids=(1, 2, 3)), ""),
    (MediaQuery(categories=("video",)), ""),
    (MediaQuery(categories=("audio", "image")), ""),
    (MediaQuery(expire_from=NOW, expire_to=NOW + 10 * DAY), ""),
    (MediaQuery(expire_from=NOW), ""),
    (MediaQuery(created_from=NOW - 3 * DAY, created_to=NOW - 2 * DAY), "(app_id=? AND id>? AND id<?)"),
    (MediaQuery(created_from=NOW - 3 * DAY, order=SortOrder.ASC), "(app_id=? AND id>?)"),
    (MediaQuery(created_to=NOW - 2 * DAY), "(app_id=? AND id<?)"),
    (MediaQuery(file_ids=(IDS["image"], IDS["old-video"])), "(app_id=? AND id=?)"),
    (MediaQuery(class_ids=(1, 3), categories=("video", "image"), created_from=NOW - 40 * DAY,
                created_to=NOW, expire_from=NOW), "(app_id=? AND id>? AND id<?)"),
])
def test_each_filter_reads_an_index_in_page_order(ctx: Context, query: MediaQuery, range_: str) -> None:
    """Page and count walk an (app_id, ...) index, a creation range or FileIds a range of it,
    never the table and never a sort. Several classes or categories, and expiry, are tested on the
    rows of the walk of (app_id, id) (one class or type has its own range: the next test)."""
    plans = _plans(ctx, query)
    assert set(plans) == {"count", "page"}, plans
    for kind, plan in plans.items():
        assert "SEARCH media USING" in plan and "INDEX ix_media_app" in plan, (kind, plan)
        assert "SCAN media" not in plan and "TEMP B-TREE" not in plan, (kind, plan)
    assert "INDEX ix_media_app_id_id" in plans["page"], plans
    if range_:
        assert all(f"ix_media_app_id_id {range_}" in plan for plan in plans.values()), plans


@pytest.mark.parametrize(("query", "index"), [
    (MediaQuery(class_ids=(2,)), "ix_media_app_class_id (app_id=? AND class_id=?)"),
    (MediaQuery(class_id=3), "ix_media_app_class_id (app_id=? AND class_id=?)"),
    (MediaQuery(class_ids=(2,), created_from=NOW - 40 * DAY),
     "ix_media_app_class_id (app_id=? AND class_id=? AND id>?)"),
    (MediaQuery(categories=("audio",)), "ix_media_app_type_id (app_id=? AND media_type=?)"),
])
def test_one_class_or_type_is_a_range_of_its_index(ctx: Context, query: MediaQuery, index: str) -> None:
    """A single class or (non-video) category reads only its media, in page order (migration 0013):
    a rare class costs its few rows, not a walk of the library."""
    plans = _plans(ctx, query)
    assert set(plans) == {"count", "page"}, plans
    for plan in plans.values():
        assert f"INDEX {index}" in plan, plan
        assert "SCAN media" not in plan and "TEMP B-TREE" not in plan, plan


def test_descriptions_read_the_trigram_index(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """Descriptions, like Names, are found by the trigram index and then sorted: the cost of the
    matches, not of the library (when the walk in page order does not find them first)."""
    monkeypatch.setattr(media_list, "PROBE_ROWS", (1, 1))
    plans = _plans(ctx, MediaQuery(descriptions=("holiday",)))
    for plan in plans.values():
        assert "media_fts VIRTUAL TABLE INDEX" in plan and "SEARCH media USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN media " not in plan + " ", plan


def test_filters_no_media_can_pass_run_no_query(ctx: Context) -> None:
    assert _plans(ctx, MediaQuery(streams=("live-1",))) == {}
    assert _plans(ctx, MediaQuery(uploaded=False, class_ids=(1,))) == {}


def _probe_library(d: Database, n: int) -> dict[str, str]:
    """``n`` media, newest FileId last: one name in five holds "holiday" (in any case), one in a
    hundred "rare", and a few are spelt with non-ASCII letters."""
    names = {}
    now = utcnow()
    with d.session() as s:
        for i in range(n):
            fid = f"2{i:018d}"
            word = ("HoliDay", "holiday", "HOLIDAY")[i % 3] if i % 5 == 0 else "trip"
            names[fid] = f"{word}-{'rare-' if i % 100 == 7 else ''}{i}{'-été' if i % 7 == 0 else ''}.mp4"
            s.add(Media(id=fid, app_id=APP, name=names[fid], description="", source_bucket="vod",
                        source_key=f"{APP}/{fid}.mp4", created_at=now))
    return names


@pytest.mark.parametrize("order", [SortOrder.DESC, SortOrder.ASC])
def test_the_walk_in_page_order_and_the_index_give_the_same_pages(db: Database, order: SortOrder) -> None:
    """A substring search first reads the app's media in page order (a common term fills a page
    in a few rows, where the index would sort all its matches), then asks the index: whichever
    answers, every page holds the same media, paging to the end sees each match once."""
    _probe_library(db, 1500)

    def pages(**query: Any) -> list[list[str]]:
        out, marker = [], None
        with Session(db.engine) as s:
            while True:
                rows, marker = page_of_media(s, APP, MediaQuery(order=order, limit=25, marker=marker, **query))
                out.append([r.id for r in rows])
                if marker is None:
                    return out

    for query in ({"name": "holiday"}, {"name": "rare-"}, {"name": "oliday-1"}, {"text": "y-2"},
                  {"prefixes": ("holi",)}, {"names": ("rare-1", "day-14")}):
        walked = pages(**query)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(media_list, "PROBE_ROWS", (1, 1))  # the index answers every page
            indexed = pages(**query)
        assert walked == indexed, query
        found = [fid for page in walked for fid in page]
        assert len(found) == len(set(found)) and found, query


def test_a_common_term_is_answered_by_the_walk_a_rare_one_by_the_index(tmp_path: Path) -> None:
    """SQLite's choice (PostgreSQL's planner makes its own, with statistics)."""
    db = _library(f"sqlite:///{tmp_path / 'probe.db'}")
    _probe_library(db, 3000)
    seen: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().startswith("SELECT media.id, media.app_id"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with Session(db.engine) as s:
            rows, _ = page_of_media(s, APP, MediaQuery(name="holiday", limit=20))
            assert len(rows) == 20 and all("holiday" in r.name.lower() for r in rows)
            assert seen and not any("media_fts" in st for st in seen), seen  # no sort of 600 matches
            seen.clear()
            rows, _ = page_of_media(s, APP, MediaQuery(name="zebra", limit=20))
            assert rows == [] and "media_fts" in seen[-1], seen  # none in the first rows: the index
            seen.clear()
            rows, _ = page_of_media(s, APP, MediaQuery(name="été", limit=20))  # not ASCII: the index
            assert len(rows) == 20 and len(seen) == 1 and "media_fts" in seen[0], seen
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
        db.dispose()


@pytest.mark.parametrize("cap", [3, 10_000])
def test_a_single_search_is_counted_from_the_index_as_the_conditions_count_it(db: Database, cap: int) -> None:
    """count_media walks one substring's trigram matches as they come (SQLite) and stops at the
    cap: the same numbers as counting with the match as a condition, with other filters too."""
    _probe_library(db, 600)
    queries = [MediaQuery(text="holiday"), MediaQuery(name="rare-"), MediaQuery(names=("day-1",)),
               MediaQuery(descriptions=("nothing",)), MediaQuery(text="holiday", class_ids=(0,)),
               MediaQuery(name="holiday", prefixes=("hol",)), MediaQuery(text="été"), MediaQuery(name="zz")]
    with Session(db.engine) as s:
        for q in queries:
            fast = media_list.count_media(s, APP, q, cap=cap)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(media_list, "_one_search", lambda *_: None)
                slow = media_list.count_media(s, APP, q, cap=cap)
            assert fast == slow, q
    with Session(db.engine) as s:
        assert media_list.count_media(s, APP, MediaQuery(text="holiday"), cap=10_000) == 120 + 2  # + NAMES


def test_the_librarys_own_date_filter_is_a_file_id_range(ctx: Context) -> None:
    """GET /v1/media's created_from/created_to (services.media.list_media) read a range of
    (app_id, id) as SearchMedia's CreateTime does, not a walk of every newer media."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("SELECT media.id"):
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        got = media_svc.list_media(ctx, APP, created_from=NOW - 3 * DAY, created_to=NOW - 2 * DAY)[0]
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    assert sorted(m.file_id for m in got) == sorted([IDS["image"], IDS["slow-audio"]])
    with ctx.db.engine.connect() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {seen[0][0]}", seen[0][1]))
    assert "ix_media_app_id_id (app_id=? AND id>? AND id<?)" in plan and "TEMP B-TREE" not in plan, plan
