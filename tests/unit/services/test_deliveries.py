"""services/deliveries.py: backoff, target policy, signatures, and the dispatcher's end states."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openvod.client.webhooks import sign, verify_signature
from openvod.config import Settings
from openvod.db.models import Delivery
from openvod.errors import InvalidParameter
from openvod.runtime import Context
from openvod.services import deliveries, events
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context
from tests.conftest import free_port


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rng = random.Random(7)
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (5, 32.0), (12, 3600.0), (500, 3600.0)):
        samples = [deliveries.backoff_delay(attempt, 2.0, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in samples)
        assert max(samples) > ceiling * 0.8  # jitter spreads over the whole range


def test_signature_round_trip() -> None:
    body = b'{"event_id":"ev1"}'
    header = sign("s3cret", 1_700_000_000, body)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert verify_signature("s3cret", "1700000000", body, header, now=1_700_000_100)
    assert verify_signature(b"s3cret", 1_700_000_000, body.decode(), f"v1=00, {header}", now=1_700_000_000)
    assert not verify_signature("s3cret", "1700000001", body, header, now=1_700_000_000)
    assert not verify_signature("other", "1700000000", body, header, now=1_700_000_000)
    assert not verify_signature("s3cret", "1700000000", body, header, now=1_700_001_000)  # too old: replay
    assert verify_signature("s3cret", "1700000000", body, header, tolerance=None)
    assert not verify_signature("s3cret", "soon", body, header)


def fake_resolver(table: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]
    return resolve


def test_check_callback_policy() -> None:
    settings = Settings(data_dir=Path("/nonexistent"))
    resolver = fake_resolver({"metadata.internal": ["169.254.169.254"], "svc.lan": ["10.0.0.5"],
                              "mixed.lan": ["10.0.0.6", "fe80::1"]})
    assert deliveries.check_callback(settings, "http://svc.lan/cb", "put", resolver=resolver) == (
        "http://svc.lan/cb", "PUT")
    assert deliveries.check_callback(settings, "https://nowhere.lan/cb", resolver=resolver)[1] == "POST"
    for url in ("http://metadata.internal/", "http://mixed.lan/", "http://169.254.169.254/", "gopher://svc.lan/",
                "http:///nohost", "http://svc.lan/" + "x" * 1100):
        with pytest.raises(InvalidParameter) as err:
            deliveries.check_callback(settings, url, resolver=resolver)
        assert err.value.code == "InvalidParameter.CallbackUrl", url
    with pytest.raises(InvalidParameter) as err:
        deliveries.check_callback(settings, "http://svc.lan/", "DELETE", resolver=resolver)
    assert err.value.code == "InvalidParameter.CallbackMethod"


def test_allowlist() -> None:
    settings = Settings(data_dir=Path("/nonexistent"), callback_allowlist=["hooks.lan", "*.example.com", "[::1]"])
    assert deliveries.host_allowlisted(settings, "HOOKS.lan")
    assert deliveries.host_allowlisted(settings, "a.b.example.com")
    assert deliveries.host_allowlisted(settings, "::1")
    assert not deliveries.host_allowlisted(settings, "example.com")
    assert not deliveries.host_allowlisted(settings, "evilexample.com")
    assert not deliveries.host_allowlisted(settings, "127.0.0.1")
    assert deliveries.host_allowlisted(Settings(data_dir=Path("/nonexistent")), "anything")


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    # push_retry_hours of about a second, so a dead receiver fails for good within the test
    c = build_context(Settings(data_dir=tmp_path, push_backoff_base=0.05, push_timeout=1.0,
                               push_retry_hours=1.0 / 3600))
    yield c
    c.db.dispose()


def settle(ctx: Context, event_id: str, timeout: float = 10.0) -> Delivery:
    end, delay = time.monotonic() + timeout, 0.02
    while True:
        with ctx.db.session() as s:
            d = s.scalars(select(Delivery).where(Delivery.event_id == event_id)).one()
        if d.state != "pending":
            return d
        assert time.monotonic() < end, f"delivery still pending: {d.log}"
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def test_dispatcher_end_states(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    dispatcher = deliveries.Dispatcher(ctx)
    dispatcher.start()
    try:
        with ctx.db.session() as s:  # URLs that skipped check_callback, as a task's might
            forbidden = events.record(s, app_id, "T", {}, cb_url="http://169.254.169.254/latest/")
            dead = events.record(s, app_id, "T", {}, cb_url=f"http://127.0.0.1:{free_port()}/")
        d = settle(ctx, forbidden)
        assert (d.state, d.attempts) == ("failed", 1)  # refused targets are not retried
        assert "InvalidParameter.UrlForbidden" in (d.last_error or "")
        d = settle(ctx, dead)
        assert d.state == "failed" and d.attempts >= 2  # retried until the deadline, then given up
        assert all("Connect" in (a["error"] or "") for a in d.log) and len(d.log) == d.attempts
    finally:
        dispatcher.stop()
