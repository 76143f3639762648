"""db/migrate.py on PostgreSQL: the Alembic migrations SQLite runs build the same schema there
(every revision, down and up again), and what SQLite does implicitly holds there too."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import insert, inspect, select

from openvod.db.migrate import alembic_config, upgrade
from openvod.db.models import App, Base, Object, utcnow
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
