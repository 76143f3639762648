"""Playback URLs: absolute, signed for private apps (expiry + HMAC), plain for public ones."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from openvod.errors import InvalidParameter
from openvod.services import apps
from openvod.services.playback import EXPIRY_WINDOW, url_for
from tests.integration.playback.conftest import Playback
from tests.integration.playback.outputs import Library


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def _store(pb: Playback, *, public: bool = False, name: str = "img.jpg", data: bytes = b"x" * 1000) -> str:
    tenant = pb.public if public else pb.private
    return tenant.lib.put("urls", name, data, role="SampleSnapshot")


def test_private_url_is_absolute_signed_and_fetchable(pb: Playback) -> None:
    key = _store(pb, data=b"jpeg bytes " * 50)
    url = url_for(pb.ctx, pb.private.app_id, "vod", key)
    parts = urlsplit(url)
    assert url.startswith(f"{pb.url}/files/vod/{key}?")
    query = parse_qs(parts.query)
    assert set(query) == {"expires", "signature"}
    r = httpx.get(url, timeout=30)  # no credentials: the URL itself grants access
    assert r.status_code == 200
    assert r.content == b"jpeg bytes " * 50


def test_default_expiry_is_the_configured_ttl(pb: Playback) -> None:
    url = url_for(pb.ctx, pb.private.app_id, "vod", _store(pb))
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    ttl = pb.ctx.settings.playback_url_ttl
    assert time.time() + ttl - 5 <= expires <= time.time() + ttl + EXPIRY_WINDOW
    assert expires % EXPIRY_WINDOW == 0  # rounded: one URL per object for a while, so caches hit


def test_expired_url_gets_403(pb: Playback) -> None:
    url = url_for(pb.ctx, pb.private.app_id, "vod", _store(pb), expires_in=-5)
    r = httpx.get(url, timeout=30)
    assert r.status_code == 403
    assert _code(r) == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("tamper", ["signature", "expires", "key", "drop-signature", "drop-expires"])
def test_tampered_url_gets_403(pb: Playback, tamper: str) -> None:
    key = _store(pb)
    other = _store(pb, name="other.jpg")
    url = url_for(pb.ctx, pb.private.app_id, "vod", key)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    path = f"/files/vod/{key}"
    if tamper == "signature":
        q["signature"] = ("0" if q["signature"][0] != "0" else "1") + q["signature"][1:]
    elif tamper == "expires":
        q["expires"] = str(int(q["expires"]) + 3600)
    elif tamper == "key":
        path = f"/files/vod/{other}"
    else:
        del q[tamper.removeprefix("drop-")]
    r = httpx.get(pb.url + path, params=q, timeout=30)
    assert r.status_code == 403, r.text
    assert _code(r) == "AuthFailure.SignatureFailure"
    assert r.headers["content-type"].startswith("application/json")


def test_private_app_needs_a_signature(pb: Playback) -> None:
    key = _store(pb)
    r = httpx.get(f"{pb.url}/files/vod/{key}", timeout=30)
    assert r.status_code == 403
    assert "signed URL" in r.json()["error"]["message"]
    # Basic credentials don't stand in for a signature on playback URLs.
    assert httpx.get(f"{pb.url}/files/vod/{key}", auth=pb.server.auth, timeout=30).status_code == 403


def test_unknown_app_looks_like_a_private_one(pb: Playback) -> None:
    r = httpx.get(f"{pb.url}/files/vod/app-does-not-exist/x.jpg", timeout=30)
    assert r.status_code == 403
    assert httpx.get(f"{pb.url}/files/vod/nokey", timeout=30).status_code == 403


def test_public_app_gets_plain_urls_that_work(pb: Playback) -> None:
    key = _store(pb, public=True, data=b"public bytes")
    url = url_for(pb.ctx, pb.public.app_id, "vod", key)
    assert url == f"{pb.url}/files/vod/{key}"
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"public bytes"
    assert r.headers["cache-control"].startswith("public")
    # A wrong signature is refused even where none is needed: a URL is right or it is not.
    assert httpx.get(url, params={"expires": "1", "signature": "00"}, timeout=30).status_code == 403
    missing = httpx.get(f"{pb.url}/files/vod/{pb.public.app_id}/media/none/nothing.jpg", timeout=30)
    assert missing.status_code == 404


def test_url_for_refuses_another_apps_object(pb: Playback) -> None:
    key = _store(pb, public=True)
    with pytest.raises(InvalidParameter):
        url_for(pb.ctx, pb.private.app_id, "vod", key)
    with pytest.raises(InvalidParameter):
        url_for(pb.ctx, pb.private.app_id, "vod", f"{pb.private.app_id}/../{key}")


def test_privacy_setting_flips_url_kind(pb: Playback) -> None:
    app, key = apps.create_app(pb.ctx.db, "flip-playback")
    auth = (key.secret_id, key.secret_key)
    obj = Library(pb.ctx, app.id).put("flip", "a.png", b"png bytes", role="SampleSnapshot")
    with httpx.Client(base_url=pb.url, auth=auth, timeout=30) as c:
        assert c.get("/v1/app/playback").json() == {"private": True}  # every app starts private
        signed = url_for(pb.ctx, app.id, "vod", obj)
        assert "signature=" in signed
        assert httpx.get(f"{pb.url}/files/vod/{obj}", timeout=30).status_code == 403

        assert c.put("/v1/app/playback", json={"private": False}).json() == {"private": False}
        assert c.get("/v1/app/playback").json() == {"private": False}
        plain = url_for(pb.ctx, app.id, "vod", obj)
        assert "?" not in plain
        assert httpx.get(plain, timeout=30).status_code == 200

        assert c.put("/v1/app/playback", json={"private": True}).json() == {"private": True}
        assert httpx.get(plain, timeout=30).status_code == 403
        assert httpx.get(signed, timeout=30).status_code == 200  # handed-out signed URLs keep working

        bad = c.put("/v1/app/playback", json={"private": "maybe"})
        assert bad.status_code == 400
        assert c.put("/v1/app/playback", json={"private": True, "x": 1}).status_code == 400
    assert httpx.get(f"{pb.url}/v1/app/playback", timeout=30).status_code == 401
