"""Media name/description search by trigram index (services/media_list.py, migration 0009), on
SQLite (FTS5) and PostgreSQL (pg_trgm): the right rows, the index used, kept in step with edits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.orm import Session

from openvod.db.migrate import upgrade
from openvod.db.models import App, Media, utcnow
from openvod.db.session import Database
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
    from openvod.config import Settings
    from openvod.errors import InvalidParameter
    from openvod.services import media as media_svc
    from openvod.services.context import build_context
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
            items, total = media_svc.search_media(ctx, APP, offset=0, limit=10, **kw)  # type: ignore[arg-type]
            return [m.name for m in items], total

        assert names(names=("rome", "paris")) == (["Rome.mp4", "lecture-rome.mov", "holiday-paris.mp4",
                                                  "Holiday-Rome.mp4"], 4)  # newest first
        assert names(prefixes=("holi", "trailer")) == (["trailer.mp4", "holiday-paris.mp4", "Holiday-Rome.mp4"], 3)
        assert names(prefixes=("tr",)) == (["trailer.mp4"], 1)  # a short prefix: no trigram, same answer
        assert names(names=("rome",), class_id=1) == (["Rome.mp4"], 1)
        page, total = media_svc.search_media(ctx, APP, offset=2, limit=2)
        assert [m.name for m in page] == ["Rome.mp4", "lecture-rome.mov"] and total == 6
        assert media_svc.search_media(ctx, APP, offset=6, limit=2) == ([], 6)
        monkeypatch.setattr(media_svc, "SEARCH_WINDOW", 4)
        assert media_svc.search_media(ctx, APP, offset=0, limit=2)[1] == 4  # counted no further than the window
        with pytest.raises(InvalidParameter):
            media_svc.search_media(ctx, APP, offset=3, limit=2)  # past the window
    finally:
        ctx.db.dispose()
