"""db/session.py: the URLs it takes, and the values PostgreSQL refuses (SQLite stores them) told
apart as the client's mistakes."""

from __future__ import annotations

import pytest

from openvod.db.models import App, utcnow
from openvod.db.session import Database, engine_url, is_postgresql
from openvod.errors import InvalidParameter


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:p@db:5432/vod", "postgresql+psycopg://u:p@db:5432/vod"),
    ("postgres://u@db/vod?sslmode=require", "postgresql+psycopg://u@db/vod?sslmode=require"),
    ("postgresql+psycopg2://u@db/vod", "postgresql+psycopg://u@db/vod"),
    ("postgresql+psycopg://u@db/vod", "postgresql+psycopg://u@db/vod"),
    ("sqlite:////data/openvod.db", "sqlite:////data/openvod.db"),
])
def test_postgresql_urls_use_psycopg_3(url: str, expected: str) -> None:
    assert engine_url(url) == expected
    assert is_postgresql(url) == expected.startswith("postgresql")


def test_a_postgresql_database_gets_a_checked_pool(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        assert db.is_postgresql and db.url.startswith("postgresql+psycopg://")
        assert db.engine.pool._pre_ping  # noqa: SLF001
        assert db.engine.pool.size() == 5  # type: ignore[attr-defined]
    finally:
        db.dispose()


@pytest.mark.parametrize(("name", "code"), [("x" * 129, "InvalidParameter.TooLong"),
                                            ("a\x00b", "InvalidParameter.NulCharacter")])
def test_values_postgresql_refuses_are_the_clients_mistake(pg_url: str, name: str, code: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(InvalidParameter) as err, db.session() as s:
            s.add(App(id="app1", name=name, sub_app_id=1, created_at=utcnow()))
        assert err.value.code == code and err.value.status == 400
    finally:
        db.dispose()
