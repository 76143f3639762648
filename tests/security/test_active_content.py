"""Uploaded files never run as active content on OpenVOD's origin (issue 10, item 1).

A tenant uploads HTML, SVG, XML and JavaScript next to ordinary media; every path that serves
stored bytes (``/files`` signed and public, ``/v1/objects``, ``/objects`` signed, the S3 gateway
through boto3, the COS host through cos-python-sdk-v5) must send the active ones as a sandboxed
download and the media inline, all with ``nosniff``. Then the attack itself in real chromium: the
operator, signed in to the console, opens the tenant's page; its script must not run, and the key
it tries to create as the operator must not exist.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import httpx
import imageio_ffmpeg
import pytest
from botocore.config import Config
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from playwright.sync_api import Error as PlaywrightError
from pydantic import ValidationError
from qcloud_cos import CosConfig, CosS3Client

from openvod.api.app import create_app
from openvod.api.content_safety import SANDBOX_CSP, is_passive, media_type, object_headers
from openvod.config import Settings
from openvod.domain.urlsign import sign_object
from openvod.services import apps, hls_keys, playback
from openvod.services.context import build_context
from tests.browser import launch_chromium
from tests.conftest import Server, make_app_server
from tests.integration.console.conftest import sign_in
from tests.media import make_clip

BUCKET = "site-1250000000"  # a COS-style name, so the COS host can address the same bucket
REGION = "ap-guangzhou"
MARKER = "/pwned-marker"

# The tenant's weapon: read the console's CSRF cookie, create a key as whoever is signed in,
# and leave traces (the title, a marker request) if it ever runs.
ATTACK_JS = f"""
document.title = "PWNED";
const csrf = (document.cookie.match(/(?:^|; )openvod_csrf=([^;]*)/) || [])[1] || "";
fetch("/v1/keys", {{method: "POST", credentials: "include",
                   headers: {{"Content-Type": "application/json", "X-CSRF-Token": csrf}},
                   body: JSON.stringify({{description: "stolen"}})}})
  .then(r => fetch("{MARKER}?status=" + r.status));
"""
PAGE_HTML = f"<!doctype html><html><head><title>hello</title></head><body>hi<script>{ATTACK_JS}</script></body></html>"
PAGE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/>'
            f"<script><![CDATA[{ATTACK_JS}]]></script></svg>")
PAGE_XML = ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>'
            f"<script><![CDATA[{ATTACK_JS}]]></script></body></html>")

ACTIVE = {"page.html": "text/html", "pic.svg": "image/svg+xml", "doc.xml": "application/xml",
          "app.js": "application/javascript"}
PASSIVE = {"clip.mp4": "video/mp4", "pic.png": "image/png", "note.txt": "text/plain"}


@dataclass(frozen=True)
class Tenant:
    app_id: str
    secret_id: str
    secret_key: str


def _png(path: Path) -> Path:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", "color=c=red:s=16x16", "-frames:v", "1", str(path)]
    subprocess.run(argv, capture_output=True, timeout=60, check=True)
    return path


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("active"), {"OPENVOD_WORKERS": "0"})
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def tenant(srv: Server) -> Tenant:
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", "mallory", "--json"],
                         env=srv.env, capture_output=True, timeout=60, check=True)
    made = json.loads(out.stdout)
    return Tenant(made["app_id"], made["secret_id"], made["secret_key"])


def _s3(srv: Server, t: Tenant) -> Any:
    return boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                        aws_access_key_id=t.secret_id, aws_secret_access_key=t.secret_key,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def uploaded(srv: Server, tenant: Tenant, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The tenant's objects in ``BUCKET``, uploaded through the S3 gateway; its app made public."""
    tmp = tmp_path_factory.mktemp("active-media")
    bodies = {
        "page.html": PAGE_HTML.encode(), "pic.svg": PAGE_SVG.encode(), "doc.xml": PAGE_XML.encode(),
        "app.js": ATTACK_JS.encode(), "note.txt": b"just text <script>alert(1)</script>\n",
        "clip.mp4": make_clip(tmp / "clip.mp4", seconds=1, width=160, height=120).read_bytes(),
        "pic.png": _png(tmp / "pic.png").read_bytes(),
    }
    s3 = _s3(srv, tenant)
    s3.create_bucket(Bucket=BUCKET)
    for name, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=name, Body=body, ContentType={**ACTIVE, **PASSIVE}[name])
    # A public app's objects open without a signature: the link a tenant would send the operator.
    with httpx.Client(base_url=srv.url, auth=(tenant.secret_id, tenant.secret_key), timeout=30) as c:
        c.put("/v1/app/playback", json={"private": False}).raise_for_status()
    return bodies


def _signed(srv: Server, route: str, key: str) -> str:
    # The server's own URL secret (as services.context derives it), so the test signs as the API does.
    secret = hashlib.sha256((srv.data_dir / "url-signing.key").read_text().strip().encode()).digest()
    expires = int(time.time()) + 600
    signature = sign_object(secret, "GET", BUCKET, key, expires)
    return f"{srv.url}/{route}/{BUCKET}/{key}?expires={expires}&signature={signature}"


def _assert_policy(name: str, headers: Any, where: str) -> None:
    h = {k.lower(): v for k, v in dict(headers).items()}
    assert h.get("x-content-type-options") == "nosniff", (where, name, h)
    if name in ACTIVE:
        assert h.get("content-disposition", "").startswith("attachment"), (where, name, h)
        assert name in h["content-disposition"], (where, name, h)
        assert h.get("content-security-policy") == SANDBOX_CSP, (where, name, h)
    else:
        assert "content-disposition" not in h, (where, name, h)
        assert "content-security-policy" not in h, (where, name, h)
        assert h["content-type"].startswith(PASSIVE[name]), (where, name, h)


# -- the policy itself ---------------------------------------------------------------------------
@pytest.mark.parametrize("content_type", [
    "text/html", "TEXT/HTML; charset=utf-8", "application/xhtml+xml", "image/svg+xml", "Image/SVG+XML",
    "application/xml", "text/xml", "application/dash+xml", "application/javascript", "text/javascript",
    "application/pdf", "application/json", "text/css", "multipart/x-mixed-replace", "", "garbage",
    "text/plain, text/html", "text/plain\r\nX-Evil: 1", "image/png;, text/html",
])
def test_active_or_unknown_types_are_sandboxed_downloads(content_type: str) -> None:
    assert not is_passive(content_type)
    h = object_headers(content_type, "evil page.html")
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Security-Policy"] == SANDBOX_CSP
    assert h["Content-Disposition"] == "attachment; filename=\"evil page.html\"; filename*=UTF-8''evil%20page.html"


@pytest.mark.parametrize("content_type", [
    "video/mp4", "video/mp2t", "video/webm", "audio/mpeg", "audio/mp4", "image/png", "image/jpeg",
    "image/webp", "image/gif", "text/plain", "text/plain; charset=utf-8", "text/vtt",
    "application/octet-stream", "application/vnd.apple.mpegurl", "application/x-mpegURL", "application/mp4",
])
def test_passive_media_types_are_inline(content_type: str) -> None:
    assert is_passive(content_type)
    assert object_headers(content_type, "x") == {"X-Content-Type-Options": "nosniff"}


def test_malformed_types_are_served_as_opaque_bytes() -> None:
    assert media_type("text/plain\r\nX-Evil: 1") == "application/octet-stream"
    assert media_type("text/html, image/png") == "application/octet-stream"
    assert media_type(None) == "application/octet-stream"
    assert media_type(" video/mp4 ") == "video/mp4"
    # A name that is not plain ASCII keeps its exact form in filename*, and a safe fallback.
    disposition = object_headers("text/html", 'a"b\\\r\nñ.html')["Content-Disposition"]
    assert disposition == "attachment; filename=\"a_b____.html\"; filename*=UTF-8''a%22b%5C%0D%0A%C3%B1.html"
    assert object_headers("text/html")["Content-Disposition"] == "attachment"


# -- every serving path --------------------------------------------------------------------------
def test_files_and_objects_routes(srv: Server, tenant: Tenant, uploaded: dict[str, bytes]) -> None:
    with httpx.Client(timeout=30) as c, httpx.Client(base_url=srv.url, auth=(tenant.secret_id, tenant.secret_key),
                                                      timeout=30) as api:
        for name, body in uploaded.items():
            key = f"{tenant.app_id}/{name}"
            urls = {"/files signed": _signed(srv, "files", key), "/files public": f"{srv.url}/files/{BUCKET}/{key}",
                    "/objects signed": _signed(srv, "objects", key)}
            for where, url in urls.items():
                r = c.get(url)
                assert r.status_code == 200 and r.content == body, (where, name, r.status_code)
                _assert_policy(name, r.headers, where)
                head = c.head(url)
                _assert_policy(name, head.headers, f"{where} HEAD")
                part = c.get(url, headers={"Range": "bytes=0-3"})
                assert part.status_code == 206 and part.content == body[:4]
                _assert_policy(name, part.headers, f"{where} range")
                again = c.get(url, headers={"If-None-Match": r.headers["etag"]})
                assert again.status_code == 304
                assert again.headers["x-content-type-options"] == "nosniff"
            r = api.get(f"/v1/objects/{BUCKET}/{name}")
            assert r.status_code == 200 and r.content == body
            _assert_policy(name, r.headers, "/v1/objects")


def test_s3_and_cos_gateways(srv: Server, tenant: Tenant, uploaded: dict[str, bytes]) -> None:
    s3 = _s3(srv, tenant)
    cos = CosS3Client(CosConfig(Region=REGION, SecretId=tenant.secret_id, SecretKey=tenant.secret_key, Token=None,
                                Scheme="http", IP="127.0.0.1", Port=srv.port))
    with httpx.Client(timeout=30) as c:
        for name, body in uploaded.items():
            got = s3.get_object(Bucket=BUCKET, Key=name)
            assert got["Body"].read() == body
            _assert_policy(name, got["ResponseMetadata"]["HTTPHeaders"], "s3 GET")
            _assert_policy(name, s3.head_object(Bucket=BUCKET, Key=name)["ResponseMetadata"]["HTTPHeaders"],
                           "s3 HEAD")
            # A presigned URL is a link a tenant can hand to anyone: same headers.
            url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": name}, ExpiresIn=600)
            r = c.get(url)
            assert r.status_code == 200 and r.content == body, r.text
            _assert_policy(name, r.headers, "s3 presigned")
            cos_got = cos.get_object(Bucket=BUCKET, Key=name)
            assert cos_got["Body"].get_raw_stream().read() == body
            _assert_policy(name, {k: v for k, v in cos_got.items() if isinstance(v, str)}, "cos GET")


def test_hls_playlists_rewritten_on_files_are_inline_and_nosniff(srv: Server, tenant: Tenant,
                                                                 uploaded: dict[str, bytes]) -> None:
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nclip.mp4\n#EXT-X-ENDLIST\n"
    _s3(srv, tenant).put_object(Bucket=BUCKET, Key="list.m3u8", Body=playlist,
                                ContentType="application/vnd.apple.mpegurl")
    r = httpx.get(_signed(srv, "files", f"{tenant.app_id}/list.m3u8"), timeout=30)
    assert r.status_code == 200 and f"/files/{BUCKET}/{tenant.app_id}/clip.mp4" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in r.headers and "content-security-policy" not in r.headers


def test_api_answers_carry_nosniff(srv: Server, tenant: Tenant) -> None:
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        answers = {
            "healthz": c.get("/healthz"),
            "keys": c.get("/v1/keys", auth=srv.auth),
            "unauthenticated": c.get("/v1/keys"),
            "not found": c.get("/v1/media/nope", auth=srv.auth),
            "openapi": c.get("/openapi.json"),
            "tencent": c.post("/", json={}, headers={"X-TC-Action": "DescribeMediaInfos"}),
            "s3 error": c.get(f"/s3/{BUCKET}/page.html"),
            "console page": c.get("/", headers={"Accept": "text/html"}),
        }
    for what, r in answers.items():
        assert r.headers.get("x-content-type-options") == "nosniff", (what, r.status_code, dict(r.headers))
    assert answers["keys"].status_code == 200 and answers["unauthenticated"].status_code == 401


# -- the attack, in a real browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


def _key_ids(srv: Server) -> set[str]:
    with srv.client() as c:
        r = c.get("/v1/keys")
        r.raise_for_status()
        return {k["secret_id"] for k in r.json()["items"]}


def test_uploaded_page_cannot_act_as_the_signed_in_operator(srv: Server, tenant: Tenant,
                                                            uploaded: dict[str, bytes], browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    context.on("request", lambda req: requests.append(req.url))
    sign_in(page, srv, srv.secret_key)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert any(c["name"] == "openvod_csrf" for c in context.cookies()), "the console set no CSRF cookie"
    before = _key_ids(srv)
    s3 = _s3(srv, tenant)
    links = {
        "files public": f"{srv.url}/files/{BUCKET}/{tenant.app_id}/page.html",
        "files svg": f"{srv.url}/files/{BUCKET}/{tenant.app_id}/pic.svg",
        "objects xml": _signed(srv, "objects", f"{tenant.app_id}/doc.xml"),
        "s3 presigned": s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "page.html"},
                                                  ExpiresIn=600),
    }
    downloads: list[str] = []
    page.on("download", lambda d: downloads.append(d.suggested_filename))
    ran: list[str] = []
    try:
        for what, url in links.items():
            try:
                page.goto(url)
            except PlaywrightError as exc:
                assert "Download is starting" in exc.message, (what, exc.message)
            else:
                # Rendered as a document: let its script finish whatever it does, so the
                # assertions below show what an attacker gets.
                page.wait_for_load_state("networkidle")
            if page.title() == "PWNED":
                ran.append(what)
    finally:
        context.close()
    stolen = _key_ids(srv) - before
    assert not stolen, f"the uploaded page created keys {stolen} as the operator (opened through {ran})"
    assert not ran, f"the uploaded page's script ran on OpenVOD's origin through {ran}"
    assert not [u for u in requests if MARKER in u or u.endswith("/v1/keys")], requests
    assert sorted(downloads) == sorted(["page.html", "pic.svg", "doc.xml", "page.html"])


# -- media_url: a second origin for user objects ---------------------------------------------------
def test_media_url_moves_object_urls_to_another_origin(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", public_url="http://vod.localhost:8080",
                        media_url="http://media.localhost:8081/", workers=0)
    ctx = build_context(settings)
    app_info, _ = apps.ensure_default_app(ctx.db, None, None)
    key = f"{app_info.id}/note.txt"
    ctx.storage.put("vod", key, BytesIO(b"hello"), content_type="text/plain")

    url = playback.url_for(ctx, app_info.id, "vod", key)
    assert url.startswith(f"http://media.localhost:8081/files/vod/{key}?expires=")
    assert ctx.object_url("vod", key).startswith(f"http://media.localhost:8081/objects/vod/{key}?expires=")
    key_id, _ = hls_keys.create_key(ctx, app_info.id, None)
    assert hls_keys.key_uri(ctx, app_info.id, key_id).startswith(f"http://media.localhost:8081/keys/hls/{key_id}?")
    assert playback.play_url(ctx, app_info.id, "f").startswith("http://vod.localhost:8080/play/f")

    client = TestClient(create_app(ctx))
    # The operator points the second host name at the same server: it answers there as it is.
    r = client.get(url.replace("http://media.localhost:8081", ""), headers={"Host": "media.localhost:8081"})
    assert r.status_code == 200 and r.content == b"hello"
    csp = client.get("/", headers={"Accept": "text/html"}).headers["content-security-policy"]
    assert "media-src 'self' http://vod.localhost:8080 http://media.localhost:8081 blob:" in csp
    ctx.db.dispose()


def test_media_url_must_be_another_host_name(tmp_path: Path) -> None:
    # Cookies ignore ports: the console's host name on another port would still see them.
    with pytest.raises(ValidationError, match="another host name"):
        Settings(data_dir=tmp_path, public_url="http://vod.example:8080", media_url="http://vod.example:9090")
    with pytest.raises(ValidationError, match="media_url must be"):
        Settings(data_dir=tmp_path, media_url="ftp://media.example")
