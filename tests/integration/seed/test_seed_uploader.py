"""The seed site (/work/shared/seeds/000_8038f9aa1a353da8.txt: Django on Tencent VOD) moved to
OpenVOD by changing one script URL: its front-end code, verbatim, runs in Chromium on its own
origin with ``/sdk/vod-js-sdk-v6.js`` (OpenVOD's drop-in for vod-js-sdk-v6) and uploads to
OpenVOD on another origin with the signature its Python makes; its back-end code then processes
the upload with the official tencentcloud SDK and reads the results where it reads them on Tencent.
Also: bad signatures, a cover, cancel() and resuming after a page reload."""

from __future__ import annotations

import hashlib
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request

from openvod.domain.signature import build_signature
from tests.browser import launch_chromium
from tests.conftest import make_app_server
from tests.integration.seed import backend
from tests.integration.seed.site import SeedSite
from tests.media import make_clip
from tests.servers import InProcessServer
from tests.tus import create

pytestmark = pytest.mark.slow

AXIOS = Path(__file__).resolve().parents[3] / ".cache/node/node_modules/axios/dist/axios.js"
# The seed's procedure ('xxx' in its signature) must exist, as on Tencent ("记得先开启你的任务流"):
# one cheap step, so the flow the upload starts costs the test little.
PROCEDURE_XXX = {"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}
CHUNK = 64 * 1024  # the SDK's chunkSize in the cancel and resume tests: a few PATCHes per upload


@pytest.fixture(scope="module")
def vod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    srv = make_app_server(tmp_path_factory.mktemp("seed-vod"), {"OPENVOD_WORKERS": "1"})
    with srv.client() as c:
        r = c.post("/v1/procedures", json={"name": "xxx", "media_process_task": PROCEDURE_XXX})
        assert r.status_code in (200, 201), r.text
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def site(vod: InProcessServer) -> Iterator[SeedSite]:
    backend.mykey.secretId, backend.mykey.secretKey = vod.secret_id, vod.secret_key
    backend.ENDPOINT = f"127.0.0.1:{vod.port}"
    s = SeedSite(sdk_url=f"{vod.url}/sdk/vod-js-sdk-v6.js")
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def seed_signatures(site: SeedSite) -> Iterator[None]:
    site.sign = backend.create_signature
    yield
    site.sign = backend.create_signature


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("seed-media") / "seed.mp4", seconds=4, width=320, height=240)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context()
    # The seed loads axios 0.18.0 from cdnjs: the same file, from the local node_modules.
    ctx.route("**/ajax/libs/axios/0.18.0/axios.js",
              lambda route: route.fulfill(path=str(AXIOS), content_type="text/javascript"))
    yield ctx
    ctx.close()


class Traffic:
    """The requests a page sent to OpenVOD, in order: (method, path, Upload-Offset, headers)."""

    def __init__(self, page: Page, base: str) -> None:
        self.sent: list[tuple[str, str, int | None, dict[str, str]]] = []
        self.answered: list[tuple[str, str, int]] = []
        self._base = base
        page.on("request", self._request)
        page.on("requestfinished", self._finished)

    def _request(self, request: Request) -> None:
        if request.url.startswith(self._base):
            headers = request.headers
            offset = headers.get("upload-offset")
            self.sent.append((request.method, request.url[len(self._base):], None if offset is None else int(offset),
                              headers))

    def _finished(self, request: Request) -> None:
        if request.url.startswith(self._base):
            response = request.response()
            self.answered.append((request.method, request.url[len(self._base):], response.status if response else 0))

    def methods(self) -> list[str]:
        """The methods of the tus requests (not the script's GET)."""
        return [m for m, path, *_ in self.sent if path.startswith("/v1/uploads")]


def _throttle(context: BrowserContext, page: Page, bytes_per_second: int) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": bytes_per_second})


def _wait(page: Page, expression: str, timeout: float = 60) -> Any:
    page.wait_for_function(expression, timeout=timeout * 1000)
    return page.evaluate(expression)


def _png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_seed_page_uploads_cross_origin_and_its_backend_processes(
        vod: InProcessServer, site: SeedSite, context: BrowserContext, clip: Path) -> None:
    """The seed's page and code, verbatim: media_progress reaches 1, done() gives a fileId and a
    video.url that plays; the seed's back end (ProcessMedia AnimatedGraphics 20000 +
    CoverBySnapshot 10, DescribeTaskDetail until FINISH) answers the seed's page at its paths."""
    page = context.new_page()
    traffic = Traffic(page, vod.url)
    page.goto(site.url + "/")
    assert page.evaluate("location.origin") != vod.url  # another origin: everything below is CORS
    # The script defines TcVod (TcVod.default: the uploader class) and leaks no `tus` global.
    assert page.evaluate("[typeof TcVod.default, typeof window.tus]") == ["function", "undefined"]
    page.set_input_files("#video_file", str(clip))
    done = _wait(page, "seedPage.done || seedPage.error")
    assert page.evaluate("seedPage.error") is None, done
    progress = page.evaluate("seedPage.progress")
    assert progress[-1] == 1 and all(0 <= p <= 1 for p in progress) and progress == sorted(progress)
    events = [name for name, _info in page.evaluate("seedPage.events")]
    assert events.index("media_upload") > events.index("media_progress")
    last = page.evaluate("seedPage.events.filter(e => e[0] === 'media_progress').pop()[1]")
    assert set(last) == {"loaded", "total", "speed", "percent"}
    assert last["loaded"] == last["total"] == clip.stat().st_size

    file_id = done["fileId"]
    assert file_id and done["video"]["url"].startswith(vod.url + "/files/")
    # The signature went in a header of the creation request only; the page's Python made it.
    creation = [h for m, path, _o, h in traffic.sent if m == "POST" and path == "/v1/uploads"]
    assert len(creation) == 1 and creation[0]["x-vod-signature"] == site.signatures[-1]
    assert all("x-vod-signature" not in h for m, _p, _o, h in traffic.sent if m != "POST")
    with vod.client() as c:
        media = c.get(f"/v1/media/{file_id}").json()
    assert media["procedure"] == "xxx" and media["name"] == "seed"
    assert media["source"]["size"] == clip.stat().st_size

    # video.url plays: in a <video> of the seed's page (cross-origin), and as a ranged GET.
    page.evaluate("url => { const v = document.getElementById('player'); v.src = url; v.load(); }",
                  done["video"]["url"])
    _wait(page, "document.getElementById('player').readyState >= 2")
    ranged = httpx.get(done["video"]["url"], headers={"Range": "bytes=0-99"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == clip.read_bytes()[:100]
    assert ranged.headers["x-content-type-options"] == "nosniff"

    # The seed's getVideoResponse posts the fileId to its back end, which runs its Python with
    # the tencentcloud SDK against OpenVOD, and reads the cover and the GIF at its paths.
    deadline = time.monotonic() + 180
    while not page.evaluate("window.$return_image_url"):
        assert not site.errors, site.errors
        assert time.monotonic() < deadline, "the seed's getVideoResponse did not set $return_image_url"
        page.wait_for_timeout(200)
    cover_url, gif_url = page.evaluate("[window.$return_image_url, window.$return_image_gif_url]")
    assert httpx.get(gif_url, timeout=30).content[:6] in (b"GIF89a", b"GIF87a")
    cover = httpx.get(cover_url, timeout=30).content
    assert cover[:3] == b"\xff\xd8\xff" or cover[:8] == b"\x89PNG\r\n\x1a\n"
    result = site.results[-1]
    assert result["Status"] == "FINISH"
    assert 3.5 < result["ProcedureTask"]["MetaData"]["Duration"] < 4.5
    assert result["ProcedureTask"]["FileId"] == file_id


def test_sdk_script_and_cross_origin_headers(vod: InProcessServer, site: SeedSite) -> None:
    """What the browser needs across origins: the script (a JS type under nosniff, embeddable),
    the tus preflight with every header the client sends, and the headers it must read."""
    r = httpx.get(f"{vod.url}/sdk/vod-js-sdk-v6.js", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "TcVod" in r.text and "tus-js-client" in r.text
    again = httpx.get(f"{vod.url}/sdk/vod-js-sdk-v6.js", headers={"If-None-Match": r.headers["etag"]}, timeout=30)
    assert again.status_code == 304
    for path, method, headers in [
        ("/v1/uploads", "POST", "tus-resumable,upload-length,upload-metadata,x-vod-signature"),
        ("/v1/uploads/up_x", "PATCH", "tus-resumable,upload-offset,content-type"),
        ("/v1/uploads/up_x", "HEAD", "tus-resumable"),
        ("/v1/uploads/up_x/cover", "PUT", "content-type"),
    ]:
        pre = httpx.options(vod.url + path, headers={"Origin": site.url, "Access-Control-Request-Method": method,
                                                     "Access-Control-Request-Headers": headers}, timeout=30)
        assert pre.status_code == 200, (path, pre.text)
        assert pre.headers["access-control-allow-origin"] in ("*", site.url)
        assert method in pre.headers["access-control-allow-methods"]
        allowed = pre.headers["access-control-allow-headers"].lower()
        assert all(h in allowed for h in headers.split(",")), (path, allowed)
        assert "access-control-allow-credentials" not in pre.headers
    with vod.client() as c:
        created = create(c, 10, None, filename="x.mp4")
    head = httpx.head(created.headers["Location"], headers={"Tus-Resumable": "1.0.0", "Origin": site.url}, timeout=30)
    exposed = {h.strip().lower() for h in head.headers["access-control-expose-headers"].split(",")}
    assert {"location", "upload-offset", "upload-length", "tus-resumable", "openvod-file-id"} <= exposed


def _bad_signature(kind: str, vod: InProcessServer) -> str:
    now = int(time.time())
    if kind == "wrong":
        return build_signature(vod.secret_id, "not-the-secret-key", now=now, expire_in=600, random=7)
    if kind == "expired":  # signed by the seed's formula, 20000 s ago
        return build_signature(vod.secret_id, vod.secret_key, now=now - 20000, expire_in=10000, random=7)
    if kind == "no-flow":  # the seed's code, with a task flow the app lacks
        return build_signature(vod.secret_id, vod.secret_key, now=now, expire_in=10000, random=7, procedure="yyy")
    one_time = build_signature(vod.secret_id, vod.secret_key, now=now, expire_in=600, random=7, one_time=True)
    first = httpx.post(f"{vod.url}/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1",
                                                         "X-VOD-Signature": one_time}, timeout=30)
    assert first.status_code == 201, first.text  # its one use
    return one_time


@pytest.mark.parametrize(("kind", "code"), [("wrong", "AuthFailure.SignatureFailure"),
                                            ("expired", "AuthFailure.SignatureExpire"),
                                            ("reused", "AuthFailure.SignatureReused"),
                                            ("no-flow", "InvalidParameter.ProcedureNameNotExist")])
def test_bad_signature_rejects_done_with_the_code(vod: InProcessServer, site: SeedSite, context: BrowserContext,
                                                  clip: Path, kind: str, code: str) -> None:
    signature = _bad_signature(kind, vod)
    site.sign = lambda: signature
    page = context.new_page()
    traffic = Traffic(page, vod.url)
    page.goto(site.url + "/")
    page.set_input_files("#video_file", str(clip))
    error = _wait(page, "seedPage.error || seedPage.done")
    assert page.evaluate("seedPage.done") is None
    assert code in error["message"] and error["code"] == code, error
    assert "PATCH" not in traffic.methods()  # refused at creation: no byte was sent


def test_cover_file_and_media_name(vod: InProcessServer, site: SeedSite, context: BrowserContext, clip: Path,
                                   tmp_path: Path) -> None:
    """coverFile goes up after the media with the same signature; done() gives cover.url."""
    cover = tmp_path / "poster.png"
    cover.write_bytes(_png())
    page = context.new_page()
    page.goto(site.url + "/sdk.html")
    page.set_input_files("#media", str(clip))
    page.set_input_files("#cover", str(cover))
    page.evaluate("startUpload({withCover: true, mediaName: '海报 test'})")
    done = _wait(page, "run.done || run.error")
    assert page.evaluate("run.error") is None, done
    events = [name for name, _info in page.evaluate("run.events")]
    assert events.index("media_upload") < events.index("cover_progress") < events.index("cover_upload")
    covers = [info for name, info in page.evaluate("run.events") if name == "cover_progress"]
    assert covers[-1]["percent"] == 1 and covers[-1]["total"] == cover.stat().st_size
    got = httpx.get(done["cover"]["url"], timeout=30)
    assert got.status_code == 200 and got.content == cover.read_bytes()
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
    with vod.client() as c:
        media = c.get(f"/v1/media/{done['fileId']}").json()
    assert media["name"] == "海报 test" and media["cover_url"]


def test_cover_must_be_the_image_it_says(vod: InProcessServer, clip: Path) -> None:
    """PUT {upload URL}/cover: only a finished upload, only raster images whose bytes match."""
    with vod.client() as c:
        url = create(c, clip.stat().st_size, None, filename="c.mp4").headers["Location"]
    early = httpx.put(url + "/cover", content=_png(), headers={"Content-Type": "image/png"}, timeout=30)
    assert early.status_code == 409 and early.json()["error"]["code"] == "FailedOperation.UploadNotFinished"
    done = httpx.patch(url, content=clip.read_bytes(), headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, timeout=60)
    assert done.status_code == 204
    for body, kind in [(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
                       (b"<html><script>alert(1)</script>", "image/png"), (_png(), "text/html")]:
        bad = httpx.put(url + "/cover", content=body, headers={"Content-Type": kind}, timeout=30)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidParameter.CoverType", kind
    big = httpx.put(url + "/cover", content=b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024),
                    headers={"Content-Type": "image/png"}, timeout=60)
    assert big.status_code == 413 and big.json()["error"]["code"] == "InvalidParameter.CoverSize"
    ok = httpx.put(url + "/cover", content=_png(), headers={"Content-Type": "image/png"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["cover_url"] and ok.json()["state"] == "done"
    state = httpx.get(url, headers={"Accept": "application/json"}, timeout=30).json()
    assert state["cover_url"] and state["media_url"] and state["file_id"] == ok.json()["file_id"]
    assert httpx.put(url.rsplit("/", 1)[0] + "/up_missing/cover", content=_png(),
                     headers={"Content-Type": "image/png"}, timeout=30).status_code == 404


def test_cancel_stops_the_upload(vod: InProcessServer, site: SeedSite, context: BrowserContext, clip: Path) -> None:
    page = context.new_page()
    _throttle(context, page, 96 * 1024)
    traffic = Traffic(page, vod.url)
    page.goto(site.url + "/sdk.html")
    page.set_input_files("#media", str(clip))
    page.evaluate(f"startUpload({{chunkSize: {CHUNK}, progressInterval: 50}})")
    _wait(page, "run.progress.length && run.progress[run.progress.length - 1] >= 0.2")
    page.evaluate("run.uploader.cancel()")
    error = _wait(page, "run.error")
    assert error["code"] == "FailedOperation.Canceled" and "canceled" in error["message"]
    upload_url = vod.url + next(p for m, p, _s in traffic.answered if m == "PATCH")
    sent = len(traffic.sent)
    page.wait_for_timeout(1500)  # several more PATCHes at this rate, had it gone on (events are delivered)
    assert len(traffic.sent) == sent, traffic.sent[sent:]
    head = httpx.head(upload_url, headers={"Tus-Resumable": "1.0.0"}, timeout=30)
    assert 0 < int(head.headers["Upload-Offset"]) < clip.stat().st_size
    assert "OpenVOD-File-Id" not in head.headers
    assert page.evaluate("run.done") is None


def test_reload_resumes_from_the_stored_offset(vod: InProcessServer, site: SeedSite, context: BrowserContext,
                                               clip: Path) -> None:
    """A page reloaded mid-upload: the same file goes on from the offset the server has (tus URL
    storage in localStorage, findPreviousUploads), without a new upload or signature check."""
    page = context.new_page()
    _throttle(context, page, 96 * 1024)
    first = Traffic(page, vod.url)
    page.goto(site.url + "/sdk.html")
    page.set_input_files("#media", str(clip))
    page.evaluate(f"startUpload({{chunkSize: {CHUNK}}})")
    deadline = time.monotonic() + 60
    while sum(1 for m, _p, s in first.answered if m == "PATCH" and s == 204) < 2:
        assert time.monotonic() < deadline, first.answered
        page.wait_for_timeout(50)
    page.reload()
    second = Traffic(page, vod.url)
    page.set_input_files("#media", str(clip))
    page.evaluate(f"startUpload({{chunkSize: {CHUNK}}})")
    done = _wait(page, "run.done || run.error")
    assert page.evaluate("run.error") is None, done
    methods = second.methods()
    assert "POST" not in methods and methods[0] == "HEAD", second.sent  # resumed, not created anew
    first_patch = next(o for m, _p, o, _h in second.sent if m == "PATCH")
    assert first_patch is not None and first_patch >= 2 * CHUNK
    created = [p for m, p, _o, _h in first.sent if m == "PATCH"][0]
    assert all(p == created for m, p, _o, _h in second.sent if m in ("HEAD", "PATCH"))
    body = httpx.get(done["video"]["url"], timeout=30).content
    assert hashlib.sha256(body).digest() == hashlib.sha256(clip.read_bytes()).digest()
    # A finished upload is forgotten: the same file again is a new media, as on Tencent.
    page.evaluate("startUpload({})")
    _wait(page, "run.done && run.done.fileId !== '" + done["fileId"] + "' || run.error")
    assert page.evaluate("run.error") is None
