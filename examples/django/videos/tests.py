"""The example site against a live OpenVOD server (none of OpenVOD is mocked).

Run with the server's address and an app key pair in the environment, and a short video::

    OPENVOD_SERVER=http://127.0.0.1:8080 OPENVOD_SECRET_ID=... OPENVOD_SECRET_KEY=... \\
    VOD_TEST_CLIP=clip.mp4 AXIOS_DIST=node_modules/axios/dist python manage.py test

tests/integration/test_django_example.py runs them in OpenVOD's CI (a fresh server, events handed
out again after 2 s). The browser test uses Chromium (``CHROMIUM``, else ``chromium`` on PATH).
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from hashlib import sha1
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import httpx
from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.core.management import call_command
from django.test import LiveServerTestCase, TestCase, override_settings

from openvod.client import ApiError, Client
from openvod.client.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from videos.events import pull_once
from videos.models import Video
from videos.vod import call, process_media, tencent_client, wait_for_task

T = TypeVar("T")
RESUME_STORES = tempfile.TemporaryDirectory(prefix="vod-example-")  # removed when the tests end
CLIP_SECONDS = (1.0, 30.0)  # the duration a test clip may have


def clip() -> Path:
    path = Path(os.environ.get("VOD_TEST_CLIP", ""))
    if not path.is_file():
        raise AssertionError(f"VOD_TEST_CLIP must name a short video file (got {str(path)!r})")
    return path


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    """``probe()``'s first truthy value, asked with capped exponential backoff until ``timeout``."""
    deadline, delay = time.monotonic() + timeout, 0.05
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def client(upload_signature: str | None = None) -> Client:
    """An OpenVOD client with the app's keys (or only a signature) and a resume store of its own."""
    store = Path(RESUME_STORES.name) / f"{uuid.uuid4().hex}.json"  # no resuming another test's upload
    if upload_signature:
        return Client(settings.OPENVOD_SERVER, upload_signature=upload_signature, resume_store=store)
    return Client(settings.OPENVOD_SERVER, settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY,
                  resume_store=store)


def upload_clip() -> str:
    with client() as vod:
        return vod.upload(clip()).file_id


def fetch(url: str) -> bytes:
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    return r.content


def assert_results(test: TestCase, cover_url: str, gif_url: str, duration: float | None) -> None:
    test.assertIn(fetch(cover_url)[:3], (b"\xff\xd8\xff", b"\x89PN"))  # a JPEG or PNG cover
    test.assertEqual(fetch(gif_url)[:3], b"GIF")
    test.assertIsNotNone(duration)
    assert duration is not None
    test.assertTrue(CLIP_SECONDS[0] <= duration <= CLIP_SECONDS[1], duration)


def seed_signature(secret_id: str, secret_key: str) -> str:
    """The seed's own signing code, unchanged but for names and the procedure it left out."""
    original = "secretId={}&currentTimeStamp={}&expireTime={}&random={}".format(  # noqa: UP032 - the seed's
        secret_id, int(time.time()), int(time.time()) + 10000, random.randint(1000, 9999999))
    return str(base64.b64encode(hmac.new(secret_key.encode("utf-8"), original.encode("utf-8"), sha1).digest()
                                + original.encode("utf-8")), "utf-8")


class CreateSignatureTests(TestCase):
    def test_signature_uploads_to_openvod(self) -> None:
        """The view's signature, given to an uploader holding no key, gets a file into the library."""
        r = self.client.post("/CreateSignature/", json.dumps({"Action": "GetUgcUploadSign"}),
                             content_type="application/x-www-form-urlencoded")  # what axios sends a string as
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(body["errno"], "0")
        with client(upload_signature=body["data"]["signature"]) as uploader:
            file_id = uploader.upload(clip()).file_id
        with client() as vod:
            media = vod.media(file_id)
        self.assertEqual(media.name, clip().name)
        self.assertTrue(CLIP_SECONDS[0] <= float((media.metadata or {})["Duration"]) <= CLIP_SECONDS[1])

    def test_seed_signing_code_works_unchanged(self) -> None:
        """Moving to OpenVOD does not require rewriting the seed's hand-made HMAC-SHA1 signature."""
        signature = seed_signature(settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY)
        with client(upload_signature=signature) as uploader:
            self.assertTrue(uploader.upload(clip()).file_id)

    def test_signature_with_another_key_is_refused(self) -> None:
        signature = seed_signature(settings.OPENVOD_SECRET_ID, "not-the-secret-key")
        with client(upload_signature=signature) as uploader, self.assertRaises(ApiError) as caught:
            uploader.upload(clip())
        self.assertTrue(caught.exception.code.startswith("AuthFailure"), caught.exception.code)


class GetVideoResponseTests(TestCase):
    def test_process_wait_and_answer_the_seeds_paths(self) -> None:
        """ProcessMedia through Tencent's SDK, one long-poll wait, one DescribeTaskDetail: the seed's
        page reads the cover, GIF and duration where it always did, and the results are stored."""
        file_id = upload_clip()
        with mock.patch("videos.views.call", wraps=call) as calls:
            r = self.client.post("/GetVideoResponse/", json.dumps({"fileId": file_id}),
                                 content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status_code, 200, r.content)
        data = r.json()["data"]
        task = data["result"]["ProcedureTask"]
        cover = task["MediaProcessResultSet"][1]["CoverBySnapshotTask"]["Output"]["CoverUrl"]
        gif = task["MediaProcessResultSet"][0]["AnimatedGraphicTask"]["Output"]["Url"]
        assert_results(self, cover, gif, task["MetaData"]["Duration"])
        self.assertEqual((data["cover_url"], data["gif_url"]), (cover, gif))
        # No busy loop: DescribeTaskDetail is asked once, after the wait.
        self.assertEqual([c.args[1] for c in calls.call_args_list], ["DescribeTaskDetail"])
        video = Video.objects.get(file_id=file_id)
        self.assertEqual((video.cover_url, video.gif_url, video.result_task_id), (cover, gif, task["TaskId"]))

    def test_bad_requests(self) -> None:
        r = self.client.post("/GetVideoResponse/", b"", content_type="application/json")
        self.assertEqual((r.status_code, r.json()["errno"]), (400, "4103"))
        with self.assertLogs("videos.views", "WARNING"):
            r = self.client.post("/GetVideoResponse/", json.dumps({"fileId": "5285890799999999999"}),
                                 content_type="application/json")
        self.assertEqual(r.status_code, 400, r.content)
        self.assertTrue(r.json()["errno"].startswith(("ResourceNotFound", "InvalidParameter")), r.json())


SECRET = "whsec_test_only_0123456789abcdef"  # noqa: S105 - a test's own secret


@override_settings(OPENVOD_CALLBACK_SECRET=SECRET)
class CallbackSignatureTests(TestCase):
    """The receiver checks ``OpenVOD-Signature`` before it believes a body."""

    body = json.dumps({"event_id": "ev-1", "type": "NewFileUpload", "created_at": "2026-12-03T00:00:00Z",
                       "payload": {"FileId": "5285890700000000001", "MediaBasicInfo": {"Name": "a.mp4"},
                                   "MetaData": {"Duration": 3.0}}}).encode()

    def post(self, secret: str = SECRET, timestamp: int | None = None, body: bytes | None = None) -> Any:
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {"HTTP_" + TIMESTAMP_HEADER.upper().replace("-", "_"): str(ts),
                   "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"): sign(secret, ts, self.body)}
        return self.client.post("/vod/callback/", body if body is not None else self.body,
                                content_type="application/json", **headers)

    def test_bad_signatures_are_refused(self) -> None:
        self.assertEqual(self.post(secret="whsec_someone_else").status_code, 401)  # noqa: S106 - another secret
        self.assertEqual(self.post(timestamp=int(time.time()) - 3600).status_code, 401)  # a replay
        self.assertEqual(self.post(body=self.body.replace(b"a.mp4", b"b.mp4")).status_code, 401)  # tampered
        self.assertEqual(self.client.post("/vod/callback/", self.body, content_type="application/json").status_code,
                         401)  # unsigned
        with override_settings(OPENVOD_CALLBACK_SECRET=""), self.assertLogs("videos.views", "ERROR"):
            self.assertEqual(self.post().status_code, 403)  # not configured: nothing is believed
        self.assertFalse(Video.objects.exists())

    def test_good_signature_is_accepted_once(self) -> None:
        r = self.post()
        self.assertEqual((r.status_code, r.json()), (200, {"stored": True}))
        self.assertEqual(self.post().json(), {"stored": False})  # a retried push
        self.assertEqual(Video.objects.get().name, "a.mp4")


class CallbackPushTests(LiveServerTestCase):
    """OpenVOD's real pushes reach the receiver, pass its check and store the results."""

    def test_pushed_events_store_results(self) -> None:
        with client() as vod:
            secret = vod.set_callback(f"{self.live_server_url}/vod/callback/").secret
            try:
                assert secret
                with override_settings(OPENVOD_CALLBACK_SECRET=secret):
                    file_id = vod.upload(clip()).file_id
                    task_id = process_media(tencent_client(), file_id)
                    video = eventually(
                        lambda: Video.objects.filter(file_id=file_id, result_task_id=task_id).first(),
                        "the ProcedureStateChanged push stored")
                    assert_results(self, video.cover_url, video.gif_url, video.duration)
                    done = eventually(lambda: [d for d in vod.deliveries(limit=100)
                                               if d.state == "done" and d.event_type == "ProcedureStateChanged"],
                                      "the delivery recorded as done")
                    self.assertTrue(done)
            finally:
                vod.clear_callback()


class PullEventsTests(TestCase):
    def test_redelivered_event_is_stored_once(self) -> None:
        file_id = upload_clip()
        task_id = process_media(tencent_client(), file_id)
        wait_for_task(task_id, timeout=120)

        def crashing_run() -> Video | None:
            """pull_events dies after storing, before ConfirmEvents: the events stay queued."""
            with mock.patch("videos.events.confirm_events", side_effect=RuntimeError("died before confirming")):
                try:
                    call_command("pull_events", "--once", stdout=io.StringIO())
                except RuntimeError:
                    pass
            return Video.objects.filter(file_id=file_id, result_task_id=task_id).first()

        def redelivered() -> list[Any]:
            return [o for o in pull_once(tencent_client())
                    if o.event_type == "ProcedureStateChanged" and o.file_id == file_id]

        with self.assertLogs("videos.events", "INFO") as logged:
            first = eventually(crashing_run, "the first pull stored the results")
            again = eventually(redelivered, "the unconfirmed event handed out again")
        self.assertIn(f"INFO:videos.events:ProcedureStateChanged {file_id}: stored", logged.output)
        self.assertIn(f"INFO:videos.events:ProcedureStateChanged {file_id}: nothing new", logged.output)
        assert_results(self, first.cover_url, first.gif_url, first.duration)
        self.assertEqual([o.stored for o in again], [False])
        video = Video.objects.get(file_id=file_id)
        self.assertEqual(video.updated_at, first.updated_at)  # not written again
        self.assertEqual(Video.objects.filter(file_id=file_id).count(), 1)
        # pull_once confirmed it this time: OpenVOD says so without handing anything out.
        r = httpx.get(f"{settings.OPENVOD_SERVER}/v1/events/recent", params={"type": "ProcedureStateChanged"},
                      auth=(settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY), timeout=30)
        mine = [e for e in r.json()["items"] if e["payload"].get("TaskId") == task_id]
        self.assertEqual(len(mine), 1)
        self.assertIsNotNone(mine[0]["confirmed_at"])
        self.assertGreaterEqual(mine[0]["pulls"], 2)


class UploadPageTests(StaticLiveServerTestCase):
    """The seed's page in Chromium: axios, OpenVOD's drop-in vod-js-sdk-v6, the seed's script."""

    def test_upload_through_the_page(self) -> None:
        from playwright.sync_api import sync_playwright

        chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                        "--disable-dev-shm-usage"])
            try:
                page = browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{self.live_server_url}/")
                self.assertTrue(page.evaluate("typeof axios.post === 'function' && typeof TcVod.default"
                                              " === 'function'"), "axios or the drop-in SDK did not load")
                page.fill("#video-title", "seed upload")
                page.set_input_files("#video-file", str(clip()))
                page.click("button[type=submit]")
                page.wait_for_function("document.getElementById('status').textContent === 'processed'"
                                       " || document.getElementById('status').textContent.startsWith('failed')",
                                       timeout=180_000)
                status = page.text_content("#status")
                self.assertEqual(status, "processed", (status, errors))
                cover, gif = page.get_attribute("#cover", "src"), page.get_attribute("#gif", "src")
                page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)",
                                       timeout=30_000)  # the cover and the GIF load from OpenVOD
                duration = float(page.text_content("#duration") or "nan")
                progress = page.eval_on_selector("#media-progress", "bar => bar.value")  # media_progress's percent
                self.assertEqual(errors, [])
            finally:
                browser.close()
        self.assertEqual(progress, 1)
        video = Video.objects.get(cover_url=cover)
        self.assertEqual(video.gif_url, gif)
        assert cover and gif
        assert_results(self, cover, gif, duration)
