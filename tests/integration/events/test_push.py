"""Pushing events to a real HTTP receiver: retries with backoff, signatures, restarts, target policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from openvod.client.webhooks import verify_signature
from tests.conftest import ServerProc, make_app_server, make_server
from tests.integration.events.conftest import FAST_ENV, Received, Receiver, new_app, only_delivery, wait_until
from tests.tus import upload_bytes


def set_callback(c: httpx.Client, url: str, method: str = "POST") -> str:
    r = c.put("/v1/app/callback", json={"url": url, "method": method})
    assert r.status_code == 200, r.text
    secret: str = r.json()["secret"]
    return secret


def settled(c: httpx.Client) -> dict[str, Any] | None:
    d = only_delivery(c)
    return d if d["state"] != "pending" else None


def check_signed(req: Received, secret: str, event_id: str) -> dict[str, Any]:
    assert req.headers["openvod-event-id"] == event_id
    assert req.headers["content-type"] == "application/json"
    ts, sig = req.headers["openvod-timestamp"], req.headers["openvod-signature"]
    assert sig.startswith("v1=")
    assert verify_signature(secret, ts, req.body, sig)
    assert not verify_signature(secret, ts, req.body + b" ", sig)
    assert not verify_signature("wrong-secret", ts, req.body, sig)
    body: dict[str, Any] = json.loads(req.body)
    return body


@pytest.mark.slow
def test_push_arrives_once_after_the_receiver_was_down(events_server: ServerProc, receiver: Receiver) -> None:
    with new_app(events_server) as c:
        secret = set_callback(c, receiver.url)  # nothing listens on the port yet
        file_id = upload_bytes(c, b"push" * 10, "push.bin")
        wait_until(lambda: only_delivery(c)["attempts"] >= 3, what="three failed attempts")
        receiver.start()
        d = wait_until(lambda: settled(c), what="delivery settled")
        assert d["state"] == "done" and d["last_status"] == 200 and d["attempts"] == len(d["log"]) >= 4
        failures, last = d["log"][:-1], d["log"][-1]
        assert all(a["status"] is None and "Connect" in a["error"] for a in failures)
        assert last["status"] == 200 and last["error"] is None
        assert [a["attempt"] for a in d["log"]] == list(range(1, len(d["log"]) + 1))
        (req,) = receiver.requests  # exactly once after recovery
        body = check_signed(req, secret, d["event_id"])
        assert req.method == "POST" and req.path == "/hook"
        assert body["event_id"] == d["event_id"] and body["type"] == "NewFileUpload"
        assert body["payload"]["FileId"] == file_id and body["app_id"] and body["created_at"].endswith("Z")


def test_push_retries_on_500_and_redeliver_sends_again(events_server: ServerProc, receiver: Receiver) -> None:
    receiver.fail_first = 2
    receiver.start()
    with new_app(events_server) as c:
        secret = set_callback(c, receiver.url, "PUT")
        upload_bytes(c, b"500" * 10, "retry.bin")
        d = wait_until(lambda: settled(c), what="delivery settled")
        assert d["state"] == "done" and d["method"] == "PUT"
        assert [(a["status"], a["error"]) for a in d["log"]] == [(500, "HTTP 500"), (500, "HTTP 500"), (200, None)]
        reqs = receiver.wait_for(3)
        assert len(reqs) == 3 and {r.method for r in reqs} == {"PUT"}
        # every retry carries the same event id, so the receiver can dedupe them
        assert {check_signed(r, secret, d["event_id"])["event_id"] for r in reqs} == {d["event_id"]}

        r = c.post(f"/v1/events/deliveries/{d['id']}/redeliver")
        assert r.status_code == 200 and r.json()["state"] == "pending"
        assert receiver.wait_for(4)[3].headers["openvod-event-id"] == d["event_id"]
        d = wait_until(lambda: settled(c), what="redelivery settled")
        assert d["state"] == "done" and d["attempts"] == 4
        assert c.get("/v1/events/deliveries", params={"state": "done"}).json()["items"][0]["id"] == d["id"]
        assert c.get("/v1/events/deliveries", params={"state": "failed"}).json()["items"] == []
        with new_app(events_server, "other") as other:
            assert other.get("/v1/events/deliveries").json()["items"] == []
            r = other.post(f"/v1/events/deliveries/{d['id']}/redeliver")
            assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Delivery"


def test_callback_settings_refuse_link_local_and_bad_urls(events_server: ServerProc) -> None:
    with new_app(events_server) as c:
        initial = c.get("/v1/app/callback").json()
        assert initial["url"] is None and initial["method"] == "POST"
        assert len(initial["secret"]) >= 32  # every app can sign (its tasks' own callbacks use it)
        for url in ("http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook",
                    "http://[::ffff:169.254.169.254]/", "http://169.254.0.23/", "ftp://127.0.0.1/hook",
                    "file:///etc/passwd", "not a url"):
            r = c.put("/v1/app/callback", json={"url": url})
            assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.CallbackUrl", url
        r = c.put("/v1/app/callback", json={"url": "http://127.0.0.1:9/hook", "method": "GET"})
        assert r.json()["error"]["code"] == "InvalidParameter.CallbackMethod"
        assert c.get("/v1/app/callback").json()["url"] is None
        # loopback and private addresses are fine for a self-hosted server
        first = set_callback(c, "http://127.0.0.1:9/hook")
        assert first == initial["secret"]
        assert set_callback(c, "http://10.1.2.3/hook") == first  # the secret survives a URL change
        assert c.get("/v1/app/callback").json() == {"url": "http://10.1.2.3/hook", "method": "POST",
                                                    "secret": first}
        r = c.delete("/v1/app/callback")
        assert r.status_code == 200 and r.json()["url"] is None
        upload_bytes(c, b"quiet" * 10, "quiet.bin")
        assert c.get("/v1/events/deliveries").json()["items"] == []  # no callback, no push


def test_allowlist_limits_callback_hosts(tmp_path: Path, receiver: Receiver) -> None:
    srv = make_app_server(tmp_path, {**FAST_ENV, "OPENVOD_CALLBACK_ALLOWLIST": '["localhost"]'})
    try:
        receiver.start()
        with srv.client() as c:
            r = c.put("/v1/app/callback", json={"url": receiver.url})  # 127.0.0.1 is not on the list
            assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.CallbackUrl"
            assert "callback_allowlist" in r.json()["error"]["message"]
            secret = set_callback(c, f"http://localhost:{receiver.port}/hook")
            upload_bytes(c, b"allowed" * 10, "allowed.bin")
            d = wait_until(lambda: settled(c), what="delivery settled")
            assert d["state"] == "done"
            check_signed(receiver.wait_for(1)[0], secret, d["event_id"])
    finally:
        srv.stop()


@pytest.mark.slow
def test_pending_delivery_survives_a_crash(fast_server: ServerProc, receiver: Receiver) -> None:
    with fast_server.client() as c:
        secret = set_callback(c, receiver.url)
        upload_bytes(c, b"crash" * 10, "crash.bin")
        wait_until(lambda: only_delivery(c)["attempts"] >= 1, what="a failed attempt")
        fast_server.restart(crash=True)
        receiver.start()
        d = wait_until(lambda: settled(c), what="delivery settled after restart")
        assert d["state"] == "done" and d["log"][0]["status"] is None and d["log"][-1]["status"] == 200
        (req,) = receiver.wait_for(1)
        check_signed(req, secret, d["event_id"])


@pytest.mark.slow
def test_delivery_claimed_by_a_crashed_server_is_sent_again(tmp_path: Path, receiver: Receiver) -> None:
    # The first request hangs and the server is killed mid-send: the claim lease (2 x push_timeout)
    # runs out and the restarted server sends again.
    srv = make_server(tmp_path, {**FAST_ENV, "OPENVOD_PUSH_TIMEOUT": "1.5"})
    try:
        receiver.hang_first = 1
        receiver.start()
        with srv.client() as c:
            secret = set_callback(c, receiver.url)
            upload_bytes(c, b"midsend" * 10, "midsend.bin")
            receiver.wait_for(1)
            srv.restart(crash=True)
            d = wait_until(lambda: settled(c), what="delivery settled after restart")
            assert d["state"] == "done" and d["attempts"] == 1  # the crashed attempt left no record
            reqs = receiver.wait_for(2)
            assert {check_signed(r, secret, d["event_id"])["event_id"] for r in reqs} == {d["event_id"]}
    finally:
        srv.stop()
