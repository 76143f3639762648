"""Kingsoft presets "as saved" (issue 12): GetPresetDetail and GetPresetList(withDetail=1) show the
``param`` the user sent, value for value, while the engine runs the canonical one; and migration
0005, which adds the column they are kept in, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from kscore import session as kscore_session

from openvod.db.migrate import alembic_config
from openvod.db.models import Preset
from openvod.db.session import engine_url
from tests.conftest import make_app_server
from tests.servers import InProcessServer

SAVED = {"f": "mp4", "VIDEO": {"vr": "25", "vb": "300000", "vcodec": "h264", "width": 320, "height": 180, "as": 0,
                               "rotate": "0", "vn": 0},
         "AUDIO": {"ar": "44100", "ab": "64k", "acodec": "aac", "an": 0}}
CANONICAL = {"f": "mp4", "AUDIO": {"acodec": "aac", "ab": "64k", "ar": 44100},
             "VIDEO": {"vcodec": "h264", "width": 320, "height": 180, "vr": 25, "vb": "300k"}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("ks-presets"), {"OPENVOD_WORKERS": "0"})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ks(srv: InProcessServer) -> Any:
    return kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=srv.secret_id,
        ks_secret_access_key=srv.secret_key, endpoint_url=srv.url)


def _detail(ks: Any, name: str) -> dict[str, Any]:
    r = ks.get_preset_detail(preset=name)
    assert r["errNum"] == 0, r
    return dict(r["presetdetail"]["param"])


def _listed(ks: Any, name: str) -> dict[str, Any]:
    r = ks.get_preset_list(withDetail=1, presettype="avop", presets=name)
    assert r["errNum"] == 0 and len(r["presetList"]) == 1, r
    return dict(r["presetList"][0]["param"])


def test_param_is_shown_as_saved_and_run_canonical(srv: InProcessServer, ks: Any) -> None:
    name = f"saved-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, presettype="avop", param=SAVED)["errNum"] == 0
    assert _detail(ks, name) == SAVED == _listed(ks, name)
    assert list(_detail(ks, name)["VIDEO"]) == list(SAVED["VIDEO"])  # the order it was sent in, too
    with srv.client() as c:  # the native API shows what a transcode does
        assert c.get(f"/v1/presets/{name}").json()["params"] == CANONICAL

    # UpdatePreset replaces both; without a param it keeps them
    changed = {"f": "flv", "VIDEO": {"vcodec": "h264", "width": "640", "height": 360}, "AUDIO": {"acodec": "aac"}}
    assert ks.update_preset(preset=name, presettype="avop", description="d2", param=changed)["errNum"] == 0
    assert _detail(ks, name) == changed == _listed(ks, name)
    assert ks.update_preset(preset=name, presettype="avop", description="d3")["errNum"] == 0
    assert _detail(ks, name) == changed
    with srv.client() as c:
        assert c.get(f"/v1/presets/{name}").json()["params"]["VIDEO"] == {"vcodec": "h264", "width": 640,
                                                                            "height": 360}


def test_a_param_sent_as_json_text_is_shown_as_an_object(ks: Any) -> None:
    import json

    name = f"text-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, presettype="avop", param=json.dumps(SAVED))["errNum"] == 0
    assert _detail(ks, name) == SAVED


def test_presets_saved_before_and_system_presets_show_the_canonical_param(srv: InProcessServer, ks: Any) -> None:
    name = f"old-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, presettype="avop", param=SAVED)["errNum"] == 0
    with srv.ctx.db.session() as s:  # as migration 0005 leaves a preset saved before it
        s.execute(sa.update(Preset).where(Preset.name == name).values(raw_params=sa.null()))
    assert _detail(ks, name) == CANONICAL == _listed(ks, name)
    system = _detail(ks, "system-360p-h264")
    assert system["f"] == "mp4" and system["VIDEO"]["height"] == 360 and system["AUDIO"]["ar"] == 44100


# ---------------------------------------------------------------- migration 0005


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) on SQLite, then on PostgreSQL (tests/pg.py: never skipped)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    server = request.getfixturevalue("pg_server")
    url = server.create(migrated=False)
    try:
        yield engine_url(url)
    finally:
        server.drop(url)


def _migrate(engine: sa.Engine, url: str, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _columns(engine: sa.Engine, table: str) -> dict[str, Any]:
    return {c["name"]: c for c in sa.inspect(engine).get_columns(table)}


def test_migration_0005_up_and_down(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        _migrate(engine, db_url, "0004_fair_claim_index")
        with engine.begin() as conn:  # rows from before: an app, its preset, a task and its push
            conn.execute(sa.text("INSERT INTO app (id, name, sub_app_id, is_default, created_at, "
                                 "callback_method, playback_private) VALUES ('a1', 'one', 1, true, "
                                 "'2026-01-01 00:00:00', 'POST', true)"))
            conn.execute(sa.text("INSERT INTO preset (app_id, name, type, description, params, system, created_at, "
                                 "updated_at) VALUES ('a1', 'p', 'avop', '', '{\"f\": \"mp4\"}', false, "
                                 "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        _migrate(engine, db_url, "head")
        assert {"raw_params"} <= set(_columns(engine, "preset"))
        assert {"cb_format"} <= set(_columns(engine, "task")) and {"format"} <= set(_columns(engine, "delivery"))
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT raw_params FROM preset")).scalar() is None
            conn.execute(sa.text("INSERT INTO task (id, app_id, kind, state, priority, input, cb_method, ext_param, "
                                 "created_at, updated_at, procedure, session_context, notify_mode) VALUES ('t1', "
                                 "'a1', 'noop', 'init', 0, '{}', 'POST', '', '2026-01-01 00:00:00', "
                                 "'2026-01-01 00:00:00', '', '', 'Finish')"))
            assert conn.execute(sa.text("SELECT cb_format FROM task")).scalar() == "event"  # the server default
        _migrate(engine, db_url, "0004_fair_claim_index", down=True)
        assert "raw_params" not in _columns(engine, "preset") and "cb_format" not in _columns(engine, "task")
        assert "format" not in _columns(engine, "delivery")
        _migrate(engine, db_url, "head")
    finally:
        engine.dispose()
