"""db/migrate.py on PostgreSQL: the Alembic migrations SQLite runs build the same schema there
(every revision, down and up again), and what SQLite does implicitly holds there too; data
migrations (0007's backfill) on both."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import column, insert, inspect, select, table

from openvod.db.migrate import alembic_config, upgrade
from openvod.db.models import App, Base, Media, Object, utcnow
from openvod.db.session import Database
from tests.pg import PgServer


def _differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    # ix_step_app_queue has expression columns (topped_at DESC NULLS LAST): Alembic cannot compare them
    return [d for d in diffs if not (d[0] in ("add_index", "remove_index") and d[1].name == "ix_step_app_queue")]


def test_the_migrations_build_the_models_schema_on_postgresql_and_go_down_and_up(pg_server: PgServer) -> None:
    with pg_server.database(migrated=False) as url:
        db = Database(url)
        try:
            upgrade(db)
            assert _differences(db) == []
            tables = set(inspect(db.engine).get_table_names())
            assert {"task", "task_step", "event", "object", "alembic_version"} <= tables
            cfg = alembic_config(db.url)
            with db.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "base")
            assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
            upgrade(db)
            assert _differences(db) == []
        finally:
            db.dispose()


def test_object_keys_sort_byte_by_byte_whatever_the_databases_collation(pg_server: PgServer) -> None:
    """S3 listings page by key (``key > marker``) and roll prefixes up in Python's order: a
    natural-language collation (here ICU's en-US, common as a server default) must not apply."""
    name = f"openvod_test_{secrets.token_hex(6)}"
    url = pg_server.url(name)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' "
                              "TEMPLATE template0").format(sql.Identifier(name)))
    db = Database(url)
    try:
        upgrade(db)
        keys = ["app1/a", "app1/B", "app1/_x", "app1/Z", "app1/a/b", "app1/a-b", "app1/ab", "app1/é"]
        with db.session() as s:
            s.execute(insert(App), [{"id": "app1", "name": "a", "sub_app_id": 1, "is_default": False,
                                     "created_at": utcnow(), "callback_method": "POST", "playback_private": True}])
            s.execute(insert(Object), [{"app_id": "app1", "bucket": "vod", "key": k, "size": 0, "etag": "",
                                        "content_type": "x", "acl": "private", "role": "", "created_at": utcnow()}
                                       for k in keys])
        with db.session() as s:
            listed = list(s.scalars(select(Object.key).order_by(Object.key)))
            after = list(s.scalars(select(Object.key).where(Object.key > "app1/Z").order_by(Object.key)))
        assert listed == sorted(keys)
        assert after == [k for k in sorted(keys) if k > "app1/Z"]
    finally:
        db.dispose()
        pg_server.drop(url)


@pytest.mark.parametrize("spelling", ["postgresql", "postgres"])
def test_an_operators_url_spelling_is_accepted(pg_url: str, spelling: str) -> None:
    db = Database(pg_url.replace("postgresql://", f"{spelling}://", 1))
    try:
        upgrade(db)  # at head already: nothing to do, but it connects and reads the version
        with db.session() as s:
            assert s.scalar(select(App.id).limit(1)) is None
    finally:
        db.dispose()


def _upgrade_to(db: Database, revision: str) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_0007_backfills_size_and_duration(database_url: str | None, tmp_path: Path) -> None:
    """Rows written before the library sorted on the server get their sort keys: the source
    object's size (NULL without one) and a positive ``format.duration`` of the probe (NULL for no
    probe, none stated, ``N/A``, zero), on SQLite and PostgreSQL alike."""
    db = Database(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    try:
        if database_url:  # the fixture's database is migrated to head: start again below 0007
            cfg = alembic_config(db.url)
            with db.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0006_media_sharing")
        else:
            _upgrade_to(db, "0006_media_sharing")
        probes: dict[str, Any] = {
            "1": {"format": {"duration": "12.500000"}}, "2": {"format": {"duration": 3}}, "3": None,
            "4": {"format": {"duration": "N/A"}}, "5": {"format": {}}, "6": {"format": {"duration": "0.000000"}},
        }
        media = table("media", *(column(c) for c in ("id", "app_id", "name", "description", "class_id",
                                                      "source_bucket", "source_key", "media_type", "probe", "state",
                                                      "source_context", "session_context", "procedure",
                                                      "task_priority", "task_notify_mode", "storage_region",
                                                      "created_at", "updated_at")))
        with db.engine.begin() as conn:
            conn.execute(insert(App), [{"id": "app1", "name": "a", "sub_app_id": 1, "is_default": False,
                                        "created_at": utcnow(), "callback_method": "POST", "playback_private": True}])
            conn.execute(insert(media), [
                {"id": fid, "app_id": "app1", "name": fid, "description": "", "class_id": 0, "source_bucket": "vod",
                 "source_key": f"app1/{fid}/src.mp4", "media_type": "video",
                 # no probe: JSON null as SQLAlchemy writes it (SQLite), SQL NULL (PostgreSQL)
                 "probe": json.dumps(probe) if database_url is None or probe is not None else None, "state": "Normal",
                 "source_context": "", "session_context": "", "procedure": "", "task_priority": 0,
                 "task_notify_mode": "Finish", "storage_region": "", "created_at": utcnow(), "updated_at": utcnow()}
                for fid, probe in probes.items()])
            conn.execute(insert(Object), [  # media 2 has no source object left; 1's cover is not its size
                {"app_id": "app1", "bucket": "vod", "key": f"app1/{fid}/{name}", "size": size, "etag": "",
                 "content_type": "x", "acl": "private", "role": role, "created_at": utcnow()}
                for fid, name, size, role in [("1", "src.mp4", 1000, "source"), ("1", "cover.jpg", 99999, "cover"),
                                              ("3", "src.mp4", 30, "source"), ("4", "src.mp4", 40, "source"),
                                              ("5", "src.mp4", 50, "source"), ("6", "src.mp4", 60, "source")]])
        upgrade(db)
        with db.session() as s:
            got = {m.id: (m.size, m.duration) for m in s.scalars(select(Media))}
        assert got == {"1": (1000, 12.5), "2": (None, 3.0), "3": (30, None), "4": (40, None), "5": (50, None),
                       "6": (60, None)}
    finally:
        db.dispose()
