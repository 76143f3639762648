"""Tencent's browser upload SDK, vod-js-sdk-v6 (issue 14): its UGC actions and COS uploads against OpenVOD.

The browser tests load the real, unmodified ``dist/vod-js-sdk-v6.js`` (the version web/package.json
pins, installed by scripts/install-node-deps) in chromium, in a page of another origin
(``http://seed.test``, served by the test), and run the seed site's JavaScript: ``new
TcVod.default({getSignature}).upload({mediaFile})`` with ``getSignature`` posting to the site's
Django view, which the test answers with a signature made as the seed's Python makes it. The SDK
calls its hard-wired hosts (``vod2.qcloud.com``, the COS bucket host, ``vodreport.qcloud.com``):
Playwright's routing hands each of those requests, Host included, to the OpenVOD server under test
and the server's answer back to the page, as a DNS entry or reverse proxy would in a deployment
(docs/migrate.md). Nothing of the SDK is stubbed: CORS, the COS signature, the multipart upload and
the SDK's reading of every answer are the real ones. Both of the SDK's upload paths are run: the
default (cos-js-sdk-v5, COS signatures) and ``storageType: "s3"`` (the AWS SDK, SigV4).

The plain-HTTP tests pin the three actions' wire shapes, key by key, to what the SDK's source
(``src/uploader.ts``) reads, and each refusal to its code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import imageio_ffmpeg
import pytest
from playwright.sync_api import Browser, Route
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from tests.browser import launch_chromium
from tests.conftest import make_app_server
from tests.media import make_clip
from tests.servers import InProcessServer

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".cache" / "node" / "node_modules"
SDK_JS = NODE / "vod-js-sdk-v6" / "dist" / "vod-js-sdk-v6.js"
AXIOS_JS = NODE / "axios" / "dist" / "axios.js"
SITE = "seed.test"  # the seed site's origin, another than OpenVOD's
UGC_HOSTS = ("vod2.qcloud.com", "vod2.dnsv1.com", "vodreport.qcloud.com")
COS_HOST = re.compile(r"^[a-z0-9-]+-\d+\.cos\.[a-z0-9-]+\.myqcloud\.com$")
PROCEDURE = "xxx"  # the seed's task flow name
WRONG_KEY = "not-the-secret-key-000000000000000"

# -- the seed site -----------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>seed</title>
<script src="/axios.js"></script><script src="/vod-js-sdk-v6.js"></script></head>
<body><input type="file" id="video"><input type="file" id="cover">
<script>
// The seed's JavaScript (its 1.3 and 2.4), with the signature URL per test case and the events kept
// (and, for one test, an option of the SDK's own).
window.seedUpload = function (signatureUrl, video_file, cover_file, options) {
  function getSignature() {
    return axios.post(signatureUrl, JSON.stringify({"Action": "GetUgcUploadSign"})).then(function (response) {
      return response.data.data.signature;
    });
  }
  const seen = {progress: [], coverProgress: [], mediaUpload: 0, coverUpload: 0};
  const tcVod = new TcVod.default({getSignature: getSignature});
  const params = {mediaFile: video_file};
  if (cover_file) { params.coverFile = cover_file; }
  Object.assign(params, options || {});
  const uploader = tcVod.upload(params);
  uploader.on('media_upload', function (info) { seen.mediaUpload += 1; });
  uploader.on('media_progress', function (info) { seen.progress.push(info.percent); });
  uploader.on('cover_upload', function (info) { seen.coverUpload += 1; });
  uploader.on('cover_progress', function (info) { seen.coverProgress.push(info.percent); });
  return uploader.done().then(function (doneResult) {
    return {ok: true, done: doneResult, seen: seen};
  }).catch(function (err) {
    return {ok: false, message: String(err && err.message), code: err && err.code, seen: seen};
  });
};
window.inputFile = function (id) { return document.getElementById(id).files[0]; };
</script></body></html>"""


def seed_signature(secret_id: str, secret_key: str, *, now: int | None = None, expire_in: int = 10000,
                   procedure: str = PROCEDURE, extra: str = "") -> str:
    """The signature exactly as the seed's CreateSignatureView makes it (plus ``extra`` fields)."""
    t = int(time.time()) if now is None else now
    original = "secretId={}&currentTimeStamp={}&expireTime={}&random={}&procedure={}".format(  # noqa: UP032 - the seed's
        secret_id, t, t + expire_in, random.randint(1000, 9999999), procedure) + extra
    mac = hmac.new(secret_key.encode("utf-8"), original.encode("utf-8"), hashlib.sha1).digest()
    return str(base64.b64encode(mac + original.encode("utf-8")), "utf-8")


@dataclass
class Site:
    """The seed site and the SDK's hosts, as the page in chromium sees them: the site's own files
    and signature view are answered here, the SDK's hosts by the OpenVOD server."""

    srv: InProcessServer
    signatures: dict[str, Any] = field(default_factory=dict)  # case -> () -> signature
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (method, host, path?query) to OpenVOD
    answers: list[int] = field(default_factory=list)  # OpenVOD's statuses, in the order of ``sent``
    schemes: set[str] = field(default_factory=set)  # how the COS requests were signed
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = 0.0  # when the page last made a request
    hold: Callable[[str, str], bool] = lambda _method, _target: False  # leave such requests unanswered
    bodies: list[Any] = field(default_factory=list)  # the JSON bodies sent to vod2.qcloud.com

    def handle(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        host = url.hostname or ""
        self.last = time.monotonic()
        if host == SITE:
            self._site(route, url.path)
        elif host in UGC_HOSTS or COS_HOST.match(host):
            self._forward(route, host, url.path + (f"?{url.query}" if url.query else ""))
        else:
            route.abort()

    def _site(self, route: Route, path: str) -> None:
        if path == "/":
            route.fulfill(status=200, content_type="text/html", body=PAGE)
        elif path == "/axios.js":
            route.fulfill(status=200, content_type="application/javascript", body=AXIOS_JS.read_bytes())
        elif path == "/vod-js-sdk-v6.js":
            route.fulfill(status=200, content_type="application/javascript", body=SDK_JS.read_bytes())
        elif path.startswith("/CreateSignature/"):
            make = self.signatures[path.split("/")[2]]
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"errno": "0", "data": {"signature": make()}}))
        else:
            route.fulfill(status=404, body="")

    def _forward(self, route: Route, host: str, target: str) -> None:
        request = route.request
        headers = {k: v for k, v in request.all_headers().items()
                   if not k.startswith(":") and k.lower() not in ("host", "content-length", "connection")}
        headers["host"] = host  # what a DNS entry or a reverse proxy keeps: the COS gateway reads it
        if self.hold(request.method, target):
            return  # pending until the page goes away, as on a dropped connection
        with self.lock:
            self.sent.append((request.method, host, target))
            if COS_HOST.match(host):
                self.schemes.add(headers.get("authorization", "").split("=", 1)[0].split(" ", 1)[0])
            if host == "vod2.qcloud.com":
                self.bodies.append(json.loads(request.post_data_buffer or b"null"))
        r = httpx.request(request.method, f"{self.srv.url}{target}", headers=headers,
                          content=request.post_data_buffer, timeout=60)
        out = {k: v for k, v in r.headers.items()
               if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection")}
        with self.lock:
            self.answers.append(r.status_code)
        route.fulfill(status=r.status_code, headers=out, body=r.content)


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("vodjs"), {"OPENVOD_WORKERS": "0"})
    try:
        vod = _vod(s)
        _call(vod, "CreateProcedureTemplate", {"Name": PROCEDURE, "MediaProcessTask": {"CoverBySnapshotTaskSet": [
            {"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}})
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("vodjs-media") / "seed clip.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="module")
def cover(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG poster, made with FFmpeg."""
    png = tmp_path_factory.mktemp("vodjs-cover") / "poster.png"
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", "testsrc2=s=64x64", "-frames:v", "1", str(png)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return png


def _vod(srv: InProcessServer) -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717 import vod_client

    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}")
    return vod_client.VodClient(credential.Credential(srv.secret_id, srv.secret_key), "",
                                ClientProfile(httpProfile=http))


def _call(client: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
    from tencentcloud.vod.v20180717 import models

    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    out: dict[str, Any] = json.loads(getattr(client, action)(req).to_json_string())
    return out


def _ugc(srv: InProcessServer, action: str, body: Any, *, host: str = "vod2.qcloud.com") -> dict[str, Any]:
    r = httpx.post(f"{srv.url}/v3/index.php", params={"Action": action}, headers={"Host": host},
                   content=body if isinstance(body, bytes) else json.dumps(body), timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out: dict[str, Any] = r.json()
    return out


def _sig(srv: InProcessServer, **kw: Any) -> str:
    return seed_signature(srv.secret_id, srv.secret_key, **kw)


# -- the browser: the seed's upload with the real SDK -----------------------------------------------

def _run(browser: Browser, site: Site, uploads: list[tuple[str, Path | None, Path | None]],
         options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the seed's upload once per (signature case, video, cover), all at once in one page,
    with the SDK's upload ``options`` added to each."""
    context = browser.new_context()
    try:
        context.route("**/*", site.handle)
        page = context.new_page()
        page.goto(f"http://{SITE}/")
        files = []
        for i, (_case, video, cover) in enumerate(uploads):
            assert video is not None
            page.set_input_files("#video", str(video))
            page.evaluate(f"window.v{i} = window.inputFile('video')")
            if cover is not None:
                page.set_input_files("#cover", str(cover))
                page.evaluate(f"window.c{i} = window.inputFile('cover')")
            files.append((f"v{i}", f"c{i}" if cover is not None else None))
        extra = json.dumps(options or {})
        calls = ", ".join(f"seedUpload('/CreateSignature/{case}/', window.{v}, {f'window.{c}' if c else 'null'}, "
                          f"{extra})"
                          for (case, _v, _c), (v, c) in zip(uploads, files, strict=True))
        result: list[dict[str, Any]] = page.evaluate(f"Promise.all([{calls}])")
        # The SDK sends its reports without waiting for them; route handlers run while Playwright
        # waits here, so wait until the page has been quiet for a second.
        site.last = end = time.monotonic()
        while time.monotonic() < end + 10 and time.monotonic() - site.last < 1.0:
            page.wait_for_timeout(50)
        return result
    finally:
        context.close()


@pytest.mark.slow
def test_seed_upload_with_cover_through_the_real_sdk(srv: InProcessServer, browser: Browser, clip: Path,
                                                    cover: Path) -> None:
    """The seed's upload (media and cover) completes: progress reaches 1, done() gives a FileId
    DescribeMediaInfos knows, with the seed's task flow, and the URLs it gives serve the bytes."""
    site = Site(srv, {"seed": lambda: _sig(srv)})
    [res] = _run(browser, site, [("seed", clip, cover)])
    assert res["ok"], res
    done, seen = res["done"], res["seen"]
    assert seen["progress"] and seen["progress"][-1] == 1 and seen["mediaUpload"] == 1
    assert seen["coverProgress"][-1] == 1 and seen["coverUpload"] == 1
    assert set(done) == {"fileId", "video", "cover"}
    r = httpx.get(done["video"]["url"], timeout=30)
    assert r.status_code == 200 and r.content == clip.read_bytes()
    r = httpx.get(done["cover"]["url"], timeout=30)
    assert r.status_code == 200 and r.content == cover.read_bytes()

    info = _call(_vod(srv), "DescribeMediaInfos", {"FileIds": [done["fileId"]]})
    assert info["NotExistFileIdSet"] == []
    [media] = info["MediaInfoSet"]
    assert media["BasicInfo"]["Name"] == "seed clip" and media["BasicInfo"]["Type"] == "mp4"
    assert media["BasicInfo"]["CoverUrl"] and media["MetaData"]["Size"] == clip.stat().st_size
    tasks = _call(_vod(srv), "DescribeTasks", {"FileId": done["fileId"]})
    assert tasks["TaskSet"], "the signature's procedure made no task"

    # The SDK's own traffic: the three actions on its API host, a multipart upload of each file
    # on the COS bucket host with the temporary key, and its reports, all answered by OpenVOD.
    actions = [t.split("Action=")[1] for m, h, t in site.sent if h == "vod2.qcloud.com" and m == "POST"]
    assert actions == ["PrepareUploadUGC", "ApplyUploadUGC", "CommitUploadUGC"]
    assert site.schemes == {"q-sign-algorithm"}  # the default path: cos-js-sdk-v5, COS signatures
    cos = [(m, t) for m, h, t in site.sent if COS_HOST.match(h)]
    bucket_host = f"vod-{_app_number(srv)}.cos.ap-guangzhou.myqcloud.com"  # storageBucket-storageAppId
    assert {h for _m, h, _t in site.sent if COS_HOST.match(h)} == {bucket_host}
    assert sum(1 for m, t in cos if m == "POST" and t.endswith("?uploads")) == 2
    assert sum(1 for m, t in cos if m == "PUT" and "partNumber=" in t) >= 2
    reports = [a for (m, h, _t), a in zip(site.sent, site.answers, strict=True)
               if h == "vodreport.qcloud.com" and m == "POST"]
    assert len(reports) == 4 and set(reports) == {200}  # apply, COS upload, commit, done
    assert set(site.answers) == {200}


@pytest.mark.slow
def test_upload_in_several_parts(srv: InProcessServer, browser: Browser, tmp_path: Path) -> None:
    """A file of several parts (the SDK's chunkSize at COS's 1 MiB minimum; by default a part is
    8 MiB): the parts go up in parallel and the commit has the whole file."""
    big = make_clip(tmp_path / "big.mp4", seconds=12, width=960, height=540)
    size = big.stat().st_size
    assert size > 4 << 20
    site = Site(srv, {"seed": lambda: _sig(srv, procedure="")})
    [res] = _run(browser, site, [("seed", big, None)], {"chunkSize": 1 << 20})
    assert res["ok"], res
    progress = res["seen"]["progress"]
    assert progress[-1] == 1 and progress == sorted(progress)
    parts = [t for m, h, t in site.sent if m == "PUT" and COS_HOST.match(h) and "partNumber=" in t]
    assert len(parts) == -(-size // (1 << 20))
    r = httpx.get(res["done"]["video"]["url"], timeout=60)
    assert r.status_code == 200 and r.content == big.read_bytes()
    [media] = _call(_vod(srv), "DescribeMediaInfos", {"FileIds": [res["done"]["fileId"]]})["MediaInfoSet"]
    assert media["MetaData"]["Width"] == 960 and media["MetaData"]["Size"] == size


@pytest.mark.slow
def test_storage_type_s3_uploads_with_sigv4(srv: InProcessServer, browser: Browser, tmp_path: Path,
                                            cover: Path) -> None:
    """The SDK's other upload path (``storageType: "s3"``: the AWS SDK, SigV4 with the temporary
    key's session token, to the same COS bucket host): a multipart media (5 MiB parts) and a
    single-PUT cover, committed."""
    big = make_clip(tmp_path / "s3.mp4", seconds=12, width=960, height=540)
    assert big.stat().st_size > 5 << 20
    site = Site(srv, {"seed": lambda: _sig(srv, procedure="")})
    [res] = _run(browser, site, [("seed", big, cover)], {"storageType": "s3"})
    assert res["ok"], res
    assert res["seen"]["mediaUpload"] >= 1 and res["seen"]["coverUpload"] >= 1
    assert site.schemes == {"AWS4-HMAC-SHA256"}
    cos = [(m, t) for m, h, t in site.sent if COS_HOST.match(h)]
    assert sum(1 for m, t in cos if m == "PUT" and "partNumber=" in t) == 2
    assert httpx.get(res["done"]["video"]["url"], timeout=60).content == big.read_bytes()
    assert httpx.get(res["done"]["cover"]["url"], timeout=60).content == cover.read_bytes()


@pytest.mark.slow
def test_reload_mid_upload_resumes_with_the_vod_session_key(srv: InProcessServer, browser: Browser,
                                                            tmp_path: Path) -> None:
    """enableResume (on by default): the page goes away with one part of three in; the same file
    picked again resumes the same upload (ApplyUploadUGC with the stored vodSessionKey, the COS
    multipart upload found by ListMultipartUploads and ListParts) and sends only the missing parts."""
    big = make_clip(tmp_path / "resume.mp4", seconds=5, width=960, height=540)
    size = big.stat().st_size
    assert 2 << 20 < size <= 3 << 20, size
    site = Site(srv, {"seed": lambda: _sig(srv, procedure="")})
    site.hold = lambda method, target: method == "PUT" and "partNumber=1&" not in target
    context = browser.new_context()
    try:
        context.route("**/*", site.handle)
        page = context.new_page()
        page.goto(f"http://{SITE}/")
        page.set_input_files("#video", str(big))
        page.evaluate("() => { window.pending = seedUpload('/CreateSignature/seed/', inputFile('video'), null, "
                      "{chunkSize: 1048576}); }")  # not awaited: it never settles
        end = time.monotonic() + 30
        while not any("partNumber=1&" in t for _m, _h, t in site.sent) and time.monotonic() < end:
            page.wait_for_timeout(50)
        page.wait_for_timeout(500)  # part 1's answer reaches the page
        first = [b for b in site.bodies if b and "videoType" in b]
        assert len(first) == 1 and not any("CommitUploadUGC" in t for _m, _h, t in site.sent)
        site.hold = lambda _method, _target: False
        mark = len(site.sent)
        page.goto(f"http://{SITE}/")  # a reload: the same origin's localStorage keeps the session
        page.set_input_files("#video", str(big))
        res = page.evaluate("seedUpload('/CreateSignature/seed/', inputFile('video'), null, {chunkSize: 1048576})")
    finally:
        context.close()
    assert res["ok"], res
    again = [b for b in site.bodies if b and "vodSessionKey" in b and "videoType" not in b]
    assert again and again[0]["vodSessionKey"], site.bodies  # ApplyUploadUGC resumed, then CommitUploadUGC
    later = [(m, t) for m, h, t in site.sent[mark:] if COS_HOST.match(h)]
    assert any(m == "GET" and "uploadId=" in t for m, t in later)  # ListParts of the upload found again
    assert not any(m == "POST" and t.endswith("?uploads") for m, t in later)  # no new multipart upload
    parts = sorted(t.split("partNumber=")[1].split("&")[0] for m, t in later if m == "PUT")
    assert parts == ["2", "3"]
    r = httpx.get(res["done"]["video"]["url"], timeout=60)
    assert r.status_code == 200 and r.content == big.read_bytes()
    assert res["done"]["video"]["url"].split("?")[0].endswith("/resume.mp4")


def _app_number(srv: InProcessServer) -> int:
    data = _ugc(srv, "PrepareUploadUGC", {"signature": _sig(srv)})["data"]
    return int(data["appId"])


@pytest.mark.slow
def test_refused_signatures_reject_done_with_openvod_codes(srv: InProcessServer, browser: Browser,
                                                           clip: Path) -> None:
    """A wrong, an expired and a reused signature: done() rejects, its message names OpenVOD's code."""
    once = _sig(srv, extra="&oneTimeValid=1")
    spent = _ugc(srv, "ApplyUploadUGC", {"signature": once, "videoName": "a", "videoType": "mp4", "videoSize": 1})
    assert spent["code"] == 0
    now = int(time.time())
    site = Site(srv, {
        "wrong": lambda: seed_signature(srv.secret_id, WRONG_KEY),
        "expired": lambda: _sig(srv, now=now - 20000),
        "reused": lambda: once,
    })
    results = _run(browser, site, [("wrong", clip, None), ("expired", clip, None), ("reused", clip, None)])
    expect = ["AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire", "AuthFailure.SignatureReused"]
    for res, code in zip(results, expect, strict=True):
        assert not res["ok"], res
        assert res["message"].startswith(f"{code}: ") and res["code"] == 10004, res
        assert res["seen"]["progress"] == []
    # Nothing reached the COS host; the SDK retried ApplyUploadUGC (4 tries) and never committed.
    assert not [h for _m, h, _t in site.sent if COS_HOST.match(h)]
    assert not [t for _m, _h, t in site.sent if "CommitUploadUGC" in t]


# -- plain HTTP: the actions' shapes and refusals -----------------------------------------------------

def _types(value: Any) -> Any:
    """``value``'s shape: each leaf replaced by its JSON type."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__


def test_prepare_upload_ugc_shape(srv: InProcessServer) -> None:
    out = _ugc(srv, "PrepareUploadUGC", {"signature": _sig(srv)})
    assert out["code"] == 0 and isinstance(out["message"], str)
    data = out["data"]
    # uploader.ts requestRegion: data.appId, data.cosRegionList (one region: the SDK races none)
    assert _types(data) == {"appId": "int", "cosRegionList": "list"}
    [region] = data["cosRegionList"]
    assert region == {"region": "ap-guangzhou", "domain": f"vod-{data['appId']}.cos.ap-guangzhou.myqcloud.com"}


def test_the_signatures_storage_region_is_the_uploads(srv: InProcessServer) -> None:
    sig = _sig(srv, procedure="", extra="&storageRegion=ap-chongqing")
    [region] = _ugc(srv, "PrepareUploadUGC", {"signature": sig})["data"]["cosRegionList"]
    assert region["region"] == "ap-chongqing" and region["domain"].endswith(".cos.ap-chongqing.myqcloud.com")
    data = _ugc(srv, "ApplyUploadUGC", {"signature": sig, "videoType": "mp4", "storageRegion": "ap-beijing"})["data"]
    assert data["storageRegionV5"] == data["StorageRegionV5"] == "ap-chongqing"
    resumed = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv), "vodSessionKey": data["vodSessionKey"]})["data"]
    assert resumed["storageRegionV5"] == "ap-chongqing"


def test_apply_upload_ugc_shape_and_the_bucket_alias(srv: InProcessServer, clip: Path) -> None:
    body = {"signature": _sig(srv, procedure=""), "videoName": "shape", "videoType": "mp4",
            "videoSize": clip.stat().st_size, "coverName": "c", "coverType": "jpg", "coverSize": 3,
            "uploadFromWeb": True, "ExpireTime": "2030-01-01T08:00:00+08:00"}
    out = _ugc(srv, "ApplyUploadUGC", body)
    assert out["code"] == 0, out
    data = out["data"]
    # uploader.ts IApplyData, and what applyUploadUGC / uploadToCos / getAuthorization read
    assert _types(data) == {
        "video": {"storageSignature": "str", "storagePath": "str"},
        "cover": {"storageSignature": "str", "storagePath": "str"},
        "storageAppId": "int", "storageBucket": "str", "storageRegion": "str", "storageRegionV5": "str",
        "StorageRegionV5": "str", "domain": "str", "vodSessionKey": "str",
        "tempCertificate": {"secretId": "str", "secretKey": "str", "token": "str", "expiredTime": "int"},
        "appId": "int", "timestamp": "int",
    }
    assert data["storageRegionV5"] == data["StorageRegionV5"] == "ap-guangzhou"
    assert data["StorageRegionV5"] not in ("vod-upload-accelerate2", "vod-upload-accelerate", "vod-upload-proxy")
    assert data["appId"] == data["storageAppId"] and data["domain"] == "vod2.qcloud.com"
    assert data["video"]["storagePath"].startswith("/media/") and data["video"]["storagePath"].endswith("/shape.mp4")
    assert data["cover"]["storagePath"].endswith("/cover.jpg")
    assert abs(data["timestamp"] - time.time()) < 60 and data["tempCertificate"]["expiredTime"] > data["timestamp"]
    # The SDK's COS bucket is storageBucket-storageAppId; cos-js-sdk-v5 insists on that form.
    bucket = f"{data['storageBucket']}-{data['storageAppId']}"
    assert re.fullmatch(r"[a-z\d-]+-\d+", bucket)

    # The bytes with the temporary key, to the bucket's COS name (cos-python-sdk-v5 here; the
    # browser tests use cos-js-sdk-v5), then the commit's shape.
    cert = data["tempCertificate"]
    cos = CosS3Client(CosConfig(Region=data["storageRegionV5"], SecretId=cert["secretId"], SecretKey=cert["secretKey"],
                                Token=cert["token"], Scheme="http", IP="127.0.0.1", Port=srv.port))
    cos.put_object(Bucket=bucket, Key=data["video"]["storagePath"][1:], Body=clip.read_bytes())
    cos.put_object(Bucket=bucket, Key=data["cover"]["storagePath"][1:], Body=b"jpg")
    with pytest.raises(CosServiceError) as e:  # the alias is the upload's bucket, and no more than its keys
        cos.put_object(Bucket=bucket, Key="media/other.mp4", Body=b"x")
    assert e.value.get_status_code() == 403
    with pytest.raises(CosServiceError) as e:  # another app number is another bucket
        cos.put_object(Bucket=f"{data['storageBucket']}-1", Key=data["video"]["storagePath"][1:], Body=b"x")
    assert e.value.get_status_code() == 403

    out = _ugc(srv, "CommitUploadUGC", {"signature": _sig(srv), "vodSessionKey": data["vodSessionKey"]})
    assert out["code"] == 0, out
    # uploader.ts commitUploadUGC returns data; the seed reads fileId and video.url
    assert _types(out["data"]) == {"fileId": "str", "video": {"url": "str", "verify_content": "str"},
                                   "cover": {"url": "str", "verify_content": "str"}}
    assert httpx.get(out["data"]["video"]["url"]).content == clip.read_bytes()
    assert httpx.get(out["data"]["cover"]["url"]).content == b"jpg"
    [media] = _call(_vod(srv), "DescribeMediaInfos", {"FileIds": [out["data"]["fileId"]]})["MediaInfoSet"]
    assert media["BasicInfo"]["ExpireTime"] == "2030-01-01T00:00:00Z"  # the SDK's expireTime option
    again = _ugc(srv, "CommitUploadUGC", {"signature": _sig(srv), "vodSessionKey": data["vodSessionKey"]})
    assert again["code"] == 0 and again["data"]["fileId"] == out["data"]["fileId"]  # idempotent
    # A committed upload can't be resumed (new credentials would overwrite the media's source).
    resumed = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv), "vodSessionKey": data["vodSessionKey"]})
    assert resumed["code"] == 10001 and resumed["message"].startswith("FailedOperation.UploadCommitted: ")


def test_temporary_key_signs_sigv4_on_the_cos_host_within_its_scope(srv: InProcessServer) -> None:
    """SigV4 (the AWS SDK's signature, vod-js-sdk-v6's ``storageType: "s3"``) on the COS host:
    the temporary key with ``x-amz-security-token`` may write its upload's keys and nothing else,
    signed for the host's region."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv, procedure=""), "videoType": "mp4"})["data"]
    cert = data["tempCertificate"]
    host = f"{data['storageBucket']}-{data['storageAppId']}.cos.{data['storageRegionV5']}.myqcloud.com"

    def put(key: str, *, token: str = cert["token"], region: str = data["storageRegionV5"]) -> httpx.Response:
        req = AWSRequest(method="PUT", url=f"http://{host}/{key}", data=b"bytes",
                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(Credentials(cert["secretId"], cert["secretKey"], token), "s3", region).add_auth(req)
        return httpx.put(f"{srv.url}/{key}", headers={**dict(req.headers.items()), "Host": host}, content=b"bytes")

    own = data["video"]["storagePath"][1:]
    assert put(own).status_code == 200
    r = put("media/another.mp4")
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    r = put(own, token="0" * 40)
    assert r.status_code == 403 and "<Code>InvalidAccessKeyId</Code>" in r.text
    assert put(own, region="ap-beijing").status_code in (400, 403)


def test_apply_with_vod_session_key_resumes_the_same_upload(srv: InProcessServer) -> None:
    first = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv, procedure=""), "videoName": "r", "videoType": "mp4",
                                         "videoSize": 10})["data"]
    again = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv), "vodSessionKey": first["vodSessionKey"],
                                         "uploadFromWeb": True})
    assert again["code"] == 0, again
    assert again["data"]["video"] == first["video"] and "cover" not in again["data"]
    assert again["data"]["tempCertificate"]["secretId"].startswith("AKIDcos")


def test_one_time_signature_is_spent_by_apply_only(srv: InProcessServer) -> None:
    once = _sig(srv, procedure="", extra="&oneTimeValid=1")
    assert _ugc(srv, "PrepareUploadUGC", {"signature": once})["code"] == 0  # verified, not spent
    applied = _ugc(srv, "ApplyUploadUGC", {"signature": once, "videoType": "mp4", "videoName": "o"})
    assert applied["code"] == 0
    again = _ugc(srv, "ApplyUploadUGC", {"signature": once, "videoType": "mp4", "videoName": "o"})
    assert again["code"] == 10004 and again["message"].startswith("AuthFailure.SignatureReused: ")
    # A refused request does not spend one: its parameters are checked first.
    fresh = _sig(srv, procedure="", extra="&oneTimeValid=1")
    bad = _ugc(srv, "ApplyUploadUGC", {"signature": fresh, "videoType": "m p 4"})
    assert bad["code"] == 10001 and bad["message"].startswith("InvalidParameterValue.MediaType: ")
    assert _ugc(srv, "ApplyUploadUGC", {"signature": fresh, "videoType": "mp4"})["code"] == 0


@pytest.mark.parametrize(("action", "body", "number", "code"), [
    ("ApplyUploadUGC", {"videoType": "mp4"}, 10004, "AuthFailure.SignatureMissing"),
    ("ApplyUploadUGC", {"signature": "not base64!", "videoType": "mp4"}, 10004, "InvalidParameter.Signature"),
    ("ApplyUploadUGC", {"signature": 7, "videoType": "mp4"}, 10004, "InvalidParameter.Signature"),
    ("ApplyUploadUGC", {"signature": "SIG"}, 10001, "MissingParameter.VideoType"),
    ("ApplyUploadUGC", {"signature": "SIG", "videoType": "mp4", "videoSize": "big"}, 10001,
     "InvalidParameterValue.videoSize"),
    ("ApplyUploadUGC", {"signature": "SIG", "videoType": "mp4", "videoSize": 1 << 50}, 10001,
     "InvalidParameterValue.videoSize"),
    ("ApplyUploadUGC", {"signature": "SIG", "videoType": "mp4", "videoName": 5}, 10001,
     "InvalidParameterValue.VideoName"),
    ("ApplyUploadUGC", {"signature": "SIG", "videoType": "mp4", "coverType": "j/pg"}, 10001,
     "InvalidParameterValue.CoverType"),
    ("ApplyUploadUGC", {"signature": "SIG", "videoType": "mp4", "ExpireTime": "soon"}, 10001,
     "InvalidParameterValue.ExpireTime"),
    ("ApplyUploadUGC", {"signature": "SIG", "fileId": "123", "coverType": "jpg"}, 10001,
     "UnsupportedOperation.CoverOnly"),
    ("ApplyUploadUGC", {"signature": "SIG", "vodSessionKey": "forged.00"}, 10001,
     "InvalidParameterValue.VodSessionKey"),
    ("ApplyUploadUGC", {"signature": "PROC", "videoType": "mp4"}, 10001, "InvalidParameter.ProcedureNameNotExist"),
    ("ApplyUploadUGC", [1], 10001, "InvalidParameter.Body"),
    ("ApplyUploadUGC", b"{not json", 10001, "InvalidParameter.Body"),
    ("CommitUploadUGC", {"signature": "SIG"}, 10001, "MissingParameter.VodSessionKey"),
    ("CommitUploadUGC", {"signature": "SIG", "vodSessionKey": "forged.00"}, 10001,
     "InvalidParameterValue.VodSessionKey"),
    ("CommitUploadUGC", {"vodSessionKey": "x"}, 10004, "AuthFailure.SignatureMissing"),
    ("PrepareUploadUGC", {"signature": "WRONG"}, 10004, "AuthFailure.SignatureFailure"),
    ("DescribeMediaInfos", {"signature": "SIG"}, 10001, "InvalidParameter.Action"),
])
def test_bad_requests_get_their_code(srv: InProcessServer, action: str, body: Any, number: int, code: str) -> None:
    signatures = {"SIG": _sig(srv, procedure=""), "PROC": _sig(srv, procedure="no-such-flow"),
                  "WRONG": seed_signature(srv.secret_id, WRONG_KEY)}
    if isinstance(body, dict) and body.get("signature") in signatures:
        body = {**body, "signature": signatures[body["signature"]]}
    out = _ugc(srv, action, body)
    assert out["code"] == number and out["message"].startswith(f"{code}: "), out
    assert out["data"] == {}


def test_too_large_and_too_deep_bodies_answer_in_the_sdk_envelope(srv: InProcessServer) -> None:
    out = _ugc(srv, "ApplyUploadUGC", json.dumps({"signature": "x" * (70 * 1024)}).encode())
    assert out["code"] == 10001 and out["message"].startswith("InvalidParameter.TooLarge: ")
    out = _ugc(srv, "ApplyUploadUGC", b"[" * 40 + b"]" * 40)
    assert out["code"] == 10001 and out["message"].startswith("InvalidParameter.JSONDepth: ")


def test_apps_stay_apart(srv: InProcessServer) -> None:
    """vodSubAppId sends the upload to that app (and its bucket name); another app's signature
    can't commit the upload."""
    from openvod.services import apps

    other, key = apps.create_app(srv.ctx.db, "ugc-other")
    as_other = _sig(srv, procedure="", extra=f"&vodSubAppId={other.sub_app_id}")  # the default app's key may
    data = _ugc(srv, "ApplyUploadUGC", {"signature": as_other, "videoType": "mp4"})["data"]
    assert data["storageAppId"] == data["appId"] == other.sub_app_id
    own = _ugc(srv, "PrepareUploadUGC", {"signature": _sig(srv)})["data"]["appId"]
    assert own != other.sub_app_id
    theirs = seed_signature(key.secret_id, key.secret_key, procedure="")
    mine = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv, procedure=""), "videoType": "mp4"})["data"]
    out = _ugc(srv, "CommitUploadUGC", {"signature": theirs, "vodSessionKey": mine["vodSessionKey"]})
    assert out["code"] == 10001 and out["message"].startswith("InvalidParameterValue.VodSessionKey: ")
    # ... and the other app's key may not name the default app.
    out = _ugc(srv, "ApplyUploadUGC", {"signature": seed_signature(key.secret_id, key.secret_key, procedure="",
                                       extra=f"&vodSubAppId={own}"), "videoType": "mp4"})
    assert out["code"] == 10004 and out["message"].startswith("AuthFailure.SubAppIdMismatch: ")


def test_commit_before_the_bytes_are_in(srv: InProcessServer) -> None:
    data = _ugc(srv, "ApplyUploadUGC", {"signature": _sig(srv, procedure=""), "videoType": "mp4"})["data"]
    out = _ugc(srv, "CommitUploadUGC", {"signature": _sig(srv), "vodSessionKey": data["vodSessionKey"]})
    assert out["code"] == 10001 and out["message"].startswith("FailedOperation.MediaNotUploaded: ")


def test_reports_and_cors(srv: InProcessServer) -> None:
    r = httpx.post(f"{srv.url}/ugcupload_new", headers={"Host": "vodreport.qcloud.com", "Origin": "http://seed.test"},
                   json={"reqType": 10001, "errCode": 0})
    assert r.status_code == 200 and r.json() == {"code": 0, "message": ""}
    assert r.headers["access-control-allow-origin"] == "*"
    # The preflights a page's upload makes: the API host's and the COS bucket host's.
    for host, path in (("vod2.qcloud.com", "/v3/index.php?Action=ApplyUploadUGC"),
                       ("vod-1500000001.cos.ap-guangzhou.myqcloud.com", "/media/x/y.mp4?partNumber=1&uploadId=u")):
        r = httpx.options(f"{srv.url}{path}", headers={
            "Host": host, "Origin": "http://seed.test", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,x-cos-security-token"})
        assert r.status_code == 200, (host, r.text)
        assert r.headers["access-control-allow-origin"] in ("*", "http://seed.test")
        assert "x-cos-security-token" in r.headers["access-control-allow-headers"].lower()
    # A COS answer exposes the ETag cos-js-sdk-v5 completes a multipart upload with.
    r = httpx.get(f"{srv.url}/x", headers={"Host": "vod-1.cos.ap-guangzhou.myqcloud.com", "Origin": "http://seed.test"})
    assert r.status_code == 403 and "etag" in r.headers["access-control-expose-headers"].lower()
