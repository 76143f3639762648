"""Secrets at rest (issue 10, item 8): SecretKeys and callback secrets are sealed with AES-GCM
under a 0600 master key file; the database file, its WAL and a dump hold none of them in clear,
while authentication and signed pushes keep working. Real SQLite, real HTTP receiver."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from openvod.api.app import create_app
from openvod.client.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from openvod.config import Settings
from openvod.crypto import SecretUnreadable, is_sealed
from openvod.db.models import ApiKey, App
from openvod.runtime import Context
from openvod.services import apps, deliveries, events
from openvod.services.context import build_context

CONFIGURED_ID = "AKIDsecretstest00000000000000000001"
CONFIGURED_KEY = "configuredsecretkey000000000000001"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, workers=0, secret_id=CONFIGURED_ID, secret_key=CONFIGURED_KEY,
                    push_backoff_base=0.05, push_timeout=2.0)


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(_settings(tmp_path / "data"))
    apps.ensure_default_app(c.db, CONFIGURED_ID, CONFIGURED_KEY)
    yield c
    c.db.dispose()


class _Receiver:
    """A real HTTP server recording every push (headers and raw body)."""

    def __init__(self) -> None:
        self.pushes: list[tuple[dict[str, str], bytes]] = []
        self.got = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.pushes.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()
                outer.got.set()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _stored_bytes(data_dir: Path) -> bytes:
    """The database as it sits on disk (main file and WAL) plus a SQL dump of it."""
    db = data_dir / "openvod.db"
    raw = b"".join(p.read_bytes() for p in (db, db.with_name("openvod.db-wal")) if p.exists())
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        dump = "\n".join(conn.iterdump()).encode()  # what `sqlite3 openvod.db .dump` prints
    finally:
        conn.close()
    return raw + dump


def test_no_secret_is_stored_in_clear_and_auth_and_signed_pushes_still_work(ctx: Context) -> None:
    tenant, tenant_key = apps.create_app(ctx.db, "tenant-a")
    extra = apps.create_key(ctx.db, "tenant-a", "second")
    receiver = _Receiver()
    try:
        callback = deliveries.set_callback(ctx, apps.default_app(ctx.db).id, receiver.url)
        tenant_cb = deliveries.get_callback(ctx, tenant.id)
        secrets_in_use = [CONFIGURED_KEY, tenant_key.secret_key, extra.secret_key, callback.secret,
                          tenant_cb.secret]
        assert all(len(s) >= 32 for s in secrets_in_use)

        stored = _stored_bytes(ctx.settings.data_dir)
        for secret in secrets_in_use:
            assert secret.encode() not in stored
        with ctx.db.session() as s:  # and the columns hold sealed tokens
            assert all(is_sealed(k.secret_key) for k in s.scalars(select(ApiKey)))
            assert all(is_sealed(a.callback_secret or "") for a in s.scalars(select(App)))

        # Authentication, in process and over HTTP (Basic), with every key.
        for sid, skey in ((CONFIGURED_ID, CONFIGURED_KEY), (tenant_key.secret_id, tenant_key.secret_key),
                          (extra.secret_id, extra.secret_key)):
            apps.forget_key(sid)
            assert apps.authenticate(ctx.db, sid, skey).secret_id == sid
        with TestClient(create_app(ctx)) as http:
            assert http.get("/v1/app/callback", auth=(tenant_key.secret_id, tenant_key.secret_key)).json()[
                "secret"] == tenant_cb.secret
            assert http.get("/v1/app/callback", auth=(tenant_key.secret_id, "x" * 32)).status_code == 401
            # The server's own push dispatcher (started by the app) signs with the opened secret.
            with ctx.db.session() as s:
                events.record(s, apps.default_app(ctx.db).id, "SecretsTest", {"n": 1})
            assert receiver.got.wait(10), "no push arrived"
        headers, body = receiver.pushes[0]
        assert verify_signature(callback.secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert not verify_signature(tenant_cb.secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    finally:
        receiver.close()


def test_files_are_private(ctx: Context) -> None:
    data_dir = ctx.settings.data_dir
    modes = {p.name: stat.S_IMODE(p.stat().st_mode)
             for p in (data_dir, data_dir / "master.key", data_dir / "openvod.db", data_dir / "url-signing.key")}
    assert modes == {"data": 0o700, "master.key": 0o600, "openvod.db": 0o600, "url-signing.key": 0o600}
    assert len((data_dir / "master.key").read_bytes()) == 32
    wal = data_dir / "openvod.db-wal"
    assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_master_key_file_can_live_elsewhere(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "openvod.key"
    c = build_context(Settings(data_dir=tmp_path / "data", workers=0, master_key_file=key_file))
    try:
        apps.ensure_default_app(c.db, None, None)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not (tmp_path / "data" / "master.key").exists()
    finally:
        c.db.dispose()


def test_a_plaintext_database_is_sealed_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = build_context(_settings(data_dir))
    apps.ensure_default_app(first.db, CONFIGURED_ID, CONFIGURED_KEY)
    tenant, tenant_key = apps.create_app(first.db, "legacy")
    first.db.dispose()
    # What an older OpenVOD left behind: secrets in clear.
    legacy_key, legacy_cb = "legacyplaintextkey00000000000001", "whsec_" + "ab" * 24
    with sqlite3.connect(data_dir / "openvod.db") as conn:
        conn.execute("UPDATE api_key SET secret_key = ? WHERE secret_id = ?", (legacy_key, tenant_key.secret_id))
        conn.execute("UPDATE app SET callback_secret = ? WHERE id = ?", (legacy_cb, tenant.id))
    conn.close()
    assert legacy_key.encode() in _stored_bytes(data_dir)

    again = build_context(_settings(data_dir))
    try:
        stored = _stored_bytes(data_dir)
        assert legacy_key.encode() not in stored and legacy_cb.encode() not in stored
        apps.forget_key(tenant_key.secret_id)
        assert apps.authenticate(again.db, tenant_key.secret_id, legacy_key).app_id == tenant.id
        assert deliveries.get_callback(again, tenant.id).secret == legacy_cb
        assert apps.authenticate(again.db, CONFIGURED_ID, CONFIGURED_KEY).secret_id == CONFIGURED_ID
    finally:
        again.db.dispose()
    third = build_context(_settings(data_dir))  # idempotent: nothing left to seal, still opens
    try:
        assert deliveries.get_callback(third, tenant.id).secret == legacy_cb
    finally:
        third.db.dispose()


def test_a_sealed_value_moved_to_another_row_does_not_open(ctx: Context) -> None:
    _, a = apps.create_app(ctx.db, "swap-a")
    _, b = apps.create_app(ctx.db, "swap-b")
    with sqlite3.connect(ctx.settings.data_dir / "openvod.db") as conn:
        (sealed_a,) = conn.execute("SELECT secret_key FROM api_key WHERE secret_id = ?", (a.secret_id,)).fetchone()
        conn.execute("UPDATE api_key SET secret_key = ? WHERE secret_id = ?", (sealed_a, b.secret_id))
    conn.close()
    apps.forget_key(b.secret_id)
    with pytest.raises(SecretUnreadable) as err:
        apps.authenticate(ctx.db, b.secret_id, a.secret_key)
    assert err.value.code == "InternalError.SecretUnreadable" and b.secret_id in err.value.message


def test_a_wrong_master_key_stops_the_start(ctx: Context) -> None:
    ctx.db.dispose()
    (ctx.settings.data_dir / "master.key").write_bytes(b"\x01" * 32)
    with pytest.raises(SecretUnreadable, match="master key"):
        build_context(_settings(ctx.settings.data_dir))
