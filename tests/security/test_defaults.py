"""Safe defaults (issue 10, item 8): console sign-in is rate-limited per client and per SecretId;
non-default apps' callbacks may not reach loopback/private addresses (at set time and, after a
DNS change, at delivery time); /docs is served entirely from this server, under a strict CSP."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from openvod.api.app import create_app
from openvod.api.signin_limiter import SignInLimiter
from openvod.config import Settings
from openvod.db.models import Delivery
from openvod.runtime import Context
from openvod.services import apps, deliveries, events
from openvod.services.apps import KeyInfo
from openvod.services.context import build_context
from openvod.services.deliveries import Dispatcher
from tests.browser import launch_chromium
from tests.conftest import ServerProc

DEFAULT_ID = "AKIDdefaultstest0000000000000000001"
DEFAULT_KEY = "defaultsdefaultsdefaultsdefaults01"


def _context(data_dir: Path, **settings: object) -> Context:
    c = build_context(Settings(data_dir=data_dir, workers=0, secret_id=DEFAULT_ID, secret_key=DEFAULT_KEY,
                               push_timeout=2.0, push_backoff_base=0.05, **settings))  # type: ignore[arg-type]
    apps.ensure_default_app(c.db, DEFAULT_ID, DEFAULT_KEY)
    return c


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = _context(tmp_path / "data")
    yield c
    c.db.dispose()


@pytest.fixture()
def tenant(ctx: Context) -> KeyInfo:
    return apps.create_app(ctx.db, "tenant")[1]


def _client(app: FastAPI, address: str) -> TestClient:
    """An in-process client whose requests come from ``address`` (the ASGI scope's client)."""
    return TestClient(app, client=(address, 40000))


def _sign_in(http: TestClient, secret_id: str, secret_key: str) -> tuple[int, dict[str, str], str]:
    r = http.post("/console/session", data={"SecretId": secret_id, "SecretKey": secret_key})
    return r.status_code, dict(r.headers), r.json()["error"]["code"] if r.status_code != 200 else ""


# --- sign-in limits ---------------------------------------------------------------------------

def test_eleventh_failure_from_a_client_is_refused_and_other_clients_still_sign_in(ctx: Context) -> None:
    app = create_app(ctx)
    attacker, operator = _client(app, "198.51.100.7"), _client(app, "198.51.100.8")
    for _ in range(10):  # distinct unknown SecretIds, so only the per-client count fills up
        assert _sign_in(attacker, "AKID" + secrets.token_hex(16), "x" * 32)[0] == 401
    started = time.monotonic()
    status, headers, code = _sign_in(attacker, DEFAULT_ID, DEFAULT_KEY)  # even a right pair
    assert (status, code) == (429, "RequestLimitExceeded.SignIn")
    assert 1 <= int(headers["retry-after"]) <= 600
    assert time.monotonic() - started < 0.4  # refused without checking (or sleeping)
    assert _sign_in(operator, DEFAULT_ID, DEFAULT_KEY)[0] == 200
    assert "openvod_session" in operator.cookies


def test_a_secret_id_is_limited_across_clients(ctx: Context, tenant: KeyInfo) -> None:
    app = create_app(ctx)
    for i in range(5):
        assert _sign_in(_client(app, f"203.0.113.{i + 1}"), tenant.secret_id, "y" * 32)[0] == 401
    fresh = _client(app, "203.0.113.99")
    status, headers, code = _sign_in(fresh, tenant.secret_id, tenant.secret_key)
    assert (status, code) == (429, "RequestLimitExceeded.SignIn") and int(headers["retry-after"]) >= 1
    assert _sign_in(fresh, DEFAULT_ID, DEFAULT_KEY)[0] == 200  # other accounts are unaffected
    # Successful sign-ins are not counted: the same client signs in correctly again and again.
    for _ in range(12):
        assert _sign_in(fresh, DEFAULT_ID, DEFAULT_KEY)[0] == 200


def test_the_window_frees_slots_as_failures_age() -> None:
    now = [1000.0]
    limiter = SignInLimiter(per_client=2, per_identity=5, window=60.0, clock=lambda: now[0])
    for t in (1000.0, 1030.0):
        now[0] = t
        wait, _ = limiter.begin("c", f"id{t}")
        assert wait is None
    now[0] = 1040.0
    assert limiter.begin("c", "other")[0] == 20  # the first failure ages out at 1060
    now[0] = 1060.5
    wait, stamp = limiter.begin("c", "other")
    assert wait is None
    limiter.forgive("c", "other", stamp)  # a success is not counted
    assert limiter.begin("c", "again")[0] is None


# --- callback targets -------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://10.1.2.3:8080/hook", "http://[::1]/hook",
                                 "http://192.168.0.10/hook"])
def test_a_tenant_cannot_aim_callbacks_at_private_addresses(ctx: Context, tenant: KeyInfo, url: str) -> None:
    with TestClient(create_app(ctx)) as http:
        r = http.put("/v1/app/callback", json={"url": url}, auth=(tenant.secret_id, tenant.secret_key))
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "InvalidParameter.CallbackUrl"
        assert "callback_allow_private" in r.json()["error"]["message"]
        task = http.post("/v1/tasks", json={"kind": "noop", "cb_url": url}, auth=(tenant.secret_id, tenant.secret_key))
        assert task.status_code == 400 and task.json()["error"]["code"] == "InvalidParameter.CbUrl"
        # The default app keeps reaching on-prem receivers, and public addresses stay open to all.
        assert http.put("/v1/app/callback", json={"url": url}, auth=(DEFAULT_ID, DEFAULT_KEY)).status_code == 200
        public = http.put("/v1/app/callback", json={"url": "http://93.184.216.34/hook"},
                          auth=(tenant.secret_id, tenant.secret_key))
        assert public.status_code == 200


def test_callback_allow_private_lifts_the_rule(tmp_path: Path) -> None:
    c = _context(tmp_path / "data", callback_allow_private=True)
    try:
        tenant = apps.create_app(c.db, "lan-tenant")[1]
        with TestClient(create_app(c)) as http:
            r = http.put("/v1/app/callback", json={"url": "http://10.1.2.3/hook"},
                         auth=(tenant.secret_id, tenant.secret_key))
            assert r.status_code == 200 and r.json()["url"] == "http://10.1.2.3/hook"
            # link-local (cloud metadata) stays refused whatever the setting
            meta = http.put("/v1/app/callback", json={"url": "http://169.254.169.254/"},
                            auth=(tenant.secret_id, tenant.secret_key))
            assert meta.status_code == 400
    finally:
        c.db.dispose()


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.hits = 0

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_delivery_time_check_catches_a_dns_change(ctx: Context, tenant: KeyInfo) -> None:
    """A host that did not resolve (or resolved publicly) when set, and later resolves to
    loopback: the tenant's push is refused at connection time; the default app's goes through."""
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = receiver.server_address[1]
    url = f"http://hook.invalid:{port}/cb"
    default_id = apps.default_app(ctx.db).id
    try:
        deliveries.set_callback(ctx, tenant.app_id, url)  # does not resolve now: accepted
        deliveries.set_callback(ctx, default_id, url)
        with ctx.db.session() as s:
            tenant_event = events.record(s, tenant.app_id, "DnsTest", {})
            default_event = events.record(s, default_id, "DnsTest", {})
        dispatcher = Dispatcher(ctx, resolver=lambda host, _port: ["127.0.0.1"])  # the rebind
        dispatcher.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with ctx.db.session() as s:
                    states = {e: st for e, st in s.execute(select(Delivery.event_id, Delivery.state))}
                if states.get(tenant_event) == "failed" and states.get(default_event) == "done":
                    break
                time.sleep(0.05)
        finally:
            dispatcher.stop()
        with ctx.db.session() as s:
            rows = {d.event_id: d for d in s.scalars(select(Delivery))}
        assert rows[default_event].state == "done"
        assert rows[tenant_event].state == "failed"
        assert "InvalidParameter.UrlForbidden" in (rows[tenant_event].last_error or "")
        assert receiver.hits == 1  # only the default app's push reached the receiver
    finally:
        receiver.shutdown()
        receiver.server_close()


# --- /docs ------------------------------------------------------------------------------------

class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        self._in_script = tag == "script" and "src" not in found

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_docs_use_only_this_servers_assets(ctx: Context) -> None:
    with TestClient(create_app(ctx), base_url="http://vod.test") as http:
        page = http.get("/docs")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "http" not in csp
        refs = _Refs()
        refs.feed(page.text)
        assert refs.inline_scripts == 0 and len(refs.refs) >= 4
        assert not re.search(r"cdn|jsdelivr|unpkg", page.text)
        for ref in refs.refs:
            absolute = urljoin("http://vod.test/docs", ref)
            assert urlsplit(absolute).netloc == "vod.test", ref
            asset = http.get(absolute)
            assert asset.status_code == 200 and len(asset.content) > 100, ref
        assert http.get("/openapi.json").status_code == 200
        assert http.get("/redoc").status_code == 404  # ReDoc would load from a CDN: off


def test_docs_render_offline_in_chromium(server: ServerProc) -> None:
    with launch_chromium() as browser:
        page = browser.new_page()
        foreign: list[str] = []
        violations: list[str] = []

        def only_ours(route: object, request: object) -> None:
            url = request.url  # type: ignore[attr-defined]
            if url.startswith(server.url + "/"):
                route.continue_()  # type: ignore[attr-defined]
            else:
                foreign.append(url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_ours)
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "OpenVOD" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock-tag", timeout=10_000)  # the operations were listed
        assert foreign == [] and violations == []
