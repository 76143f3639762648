"""A server of the playback tests' own, with two apps: the default one (private, as every app
starts) and a public one; a Context on the server's data dir to store outputs as the jobs do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from openvod.config import Settings
from openvod.runtime import Context
from openvod.services import apps
from openvod.services.context import build_context
from tests.browser import ARTIFACTS
from tests.conftest import ServerProc, make_server
from tests.integration.playback.outputs import Library, Sprites, make_ladder, make_sprites
from tests.media import make_clip
from tests.tus import upload_bytes


@dataclass
class Tenant:
    app_id: str
    auth: tuple[str, str]
    lib: Library

    def upload(self, server: ServerProc, data: bytes, name: str = "clip.mp4") -> str:
        with httpx.Client(base_url=server.url, auth=self.auth, timeout=60) as c:
            return upload_bytes(c, data, name)


@dataclass
class Playback:
    server: ServerProc
    ctx: Context
    private: Tenant  # the default app
    public: Tenant

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="package")
def pb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playback]:
    srv = make_server(tmp_path_factory.mktemp("playback"), {"OPENVOD_WORKERS": "0"})
    # Same data dir and address as the server: same database, storage, URL secret and base URL.
    settings = Settings(data_dir=srv.data_dir, host="127.0.0.1", port=srv.port, public_url=None, signing_key=None,
                        database_url=srv.env.get("OPENVOD_DATABASE_URL"))
    ctx = build_context(settings, migrate=False)
    default = apps.default_app(ctx.db)
    app, key = apps.create_app(ctx.db, "public-playback")
    public = Tenant(app.id, (key.secret_id, key.secret_key), Library(ctx, app.id))
    r = httpx.put(f"{srv.url}/v1/app/playback", json={"private": False}, auth=public.auth, timeout=30)
    assert r.status_code == 200 and r.json() == {"private": False}, r.text
    try:
        yield Playback(srv, ctx, Tenant(default.id, srv.auth, Library(ctx, default.id)), public)
    finally:
        ctx.db.dispose()
        srv.stop()


@pytest.fixture(scope="package")
def clip6(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s 320x180 H.264/AAC MP4: the source of the media the tests attach outputs to."""
    return make_clip(tmp_path_factory.mktemp("pbmedia") / "clip6.mp4", seconds=6, width=320, height=180)


@pytest.fixture(scope="package")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ladder(tmp_path_factory.mktemp("ladder"))


@pytest.fixture(scope="package")
def sprites(tmp_path_factory: pytest.TempPathFactory) -> Sprites:
    return make_sprites(tmp_path_factory.mktemp("sprites"))


def save_artifact(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path
