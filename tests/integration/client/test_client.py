"""openvod.client against a real ``openvod serve``.

Faults are injected by wrapping the real HTTP transport (the connection really breaks, the server
really dies); nothing here mocks the server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from openvod.client import ApiError, Client, Media, NetworkError, RetryPolicy, sign_upload
from openvod.errors import OpenVODError
from tests.conftest import ServerProc
from tests.tus import sha1_file

CHUNK = 1024 * 1024
FAST_RETRY = RetryPolicy(initial=0.1, cap=2.0, max_attempts=10, deadline=60.0)


class Recorder(httpx.HTTPTransport):
    """The real transport, keeping (method, url, headers) of every request it forwards."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, str(request.url), dict(request.headers)))
        return super().handle_request(request)

    def methods(self) -> list[str]:
        return [m for m, _, _ in self.requests]

    def patch_offsets(self) -> list[int]:
        return [int(h["upload-offset"]) for m, _, h in self.requests if m == "PATCH"]


class _CutStream(httpx.SyncByteStream):
    """Forwards ``limit`` bytes of a body, then breaks like a dropped connection."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for piece in self.inner:
            take = piece[: self.limit - sent]
            if take:
                yield take
                sent += len(take)
            if sent >= self.limit:
                raise httpx.WriteError("injected: connection dropped mid-chunk")


class DropOnce(Recorder):
    """Breaks the connection once, on the ``nth`` PATCH: before sending it, in the middle of its
    body (the server sees a truncated request), or after the server answered (reply lost)."""

    def __init__(self, nth: int, mode: str) -> None:
        super().__init__()
        self.nth, self.mode = nth, mode
        self.patches = 0
        self.fired = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
        if request.method != "PATCH" or self.patches != self.nth:
            return super().handle_request(request)
        self.fired = True
        if self.mode == "before":
            self.requests.append((request.method, str(request.url), dict(request.headers)))
            raise httpx.WriteError("injected: connection dropped before the chunk")
        if self.mode == "mid-body":
            assert isinstance(request.stream, httpx.SyncByteStream)
            request.stream = _CutStream(request.stream, 300 * 1024)
            return super().handle_request(request)
        response = super().handle_request(request)
        response.read()
        response.close()
        raise httpx.ReadError("injected: connection dropped before the reply arrived")


class Answer503Once(Recorder):
    """Like a proxy in front of a busy server: the ``nth`` PATCH gets a 503 and is not forwarded."""

    def __init__(self, nth: int) -> None:
        super().__init__()
        self.nth, self.patches = nth, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == self.nth:
                request.read()
                body = {"error": {"code": "InternalError.Storage", "message": "injected outage"}}
                return httpx.Response(503, json=body, request=request)
        return super().handle_request(request)


class WrongOffsetOnce(Recorder):
    """Sends the ``nth`` PATCH with an Upload-Offset the server does not have (a client bug)."""

    def __init__(self, nth: int) -> None:
        super().__init__()
        self.nth, self.patches = nth, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == self.nth:
                request.headers["Upload-Offset"] = str(int(request.headers["Upload-Offset"]) + 1)
        return super().handle_request(request)


class ProcessDied(Exception):
    """Stands for the client process ending (not an HTTP failure, so nothing retries it)."""


class DieAfterPatches(Recorder):
    def __init__(self, patches: int) -> None:
        super().__init__()
        self.left = patches

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            if self.left == 0:
                raise ProcessDied()
            self.left -= 1
        return super().handle_request(request)


class CrashServerAt(Recorder):
    """Kills the server (SIGKILL) just before the first PATCH at or past ``offset`` goes out,
    lets that PATCH fail against the dead server, restarts it on the same data, then re-raises."""

    def __init__(self, server: ServerProc, offset: int) -> None:
        super().__init__()
        self.server, self.offset = server, offset
        self.crashed_at: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and self.crashed_at is None:
            offset = int(request.headers["Upload-Offset"])
            if offset >= self.offset:
                self.crashed_at = offset
                self.server.kill()
                try:
                    super().handle_request(request)
                except httpx.TransportError:
                    self.server.start()
                    raise
                raise AssertionError("a killed server answered")
        return super().handle_request(request)


def make_client(server: ServerProc, tmp_path: Path, transport: httpx.BaseTransport | None = None) -> Client:
    return Client(
        server.url,
        *server.auth,
        transport=transport,
        chunk_size=CHUNK,
        resume_store=tmp_path / "uploads.json",
        retry=FAST_RETRY,
    )


def stored_sha1(client: Client, media: Media) -> str:
    assert media.source is not None
    return hashlib.sha1(client.get_object(media.source.bucket, media.source.key)).hexdigest()


def store_entries(tmp_path: Path) -> dict[str, dict[str, str]]:
    path = tmp_path / "uploads.json"
    return json.loads(path.read_text()) if path.exists() else {}


# -- upload ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_upload_probes_clip(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    progress: list[tuple[int, int]] = []
    with make_client(server, tmp_path) as client:
        media = client.upload(clip, on_progress=lambda sent, total: progress.append((sent, total)))

        assert media.file_id and media.name == "clip.mp4"
        assert media.metadata is not None
        assert media.metadata["Duration"] == pytest.approx(10, abs=0.2)
        assert media.metadata["Width"] == 1280
        assert media.metadata["Height"] == 720
        assert media.probe is not None and "format" in media.probe and "streams" in media.probe
        assert media.probe_error is None
        assert media.source is not None
        assert media.source.size == clip.stat().st_size
        assert media.raw["file_id"] == media.file_id
        assert stored_sha1(client, media) == sha1_file(clip)
        assert media.created_at is not None and media.created_at.tzinfo is not None
    size = clip.stat().st_size
    assert progress[-1] == (size, size)
    assert all(total == size for _, total in progress)
    assert store_entries(tmp_path) == {}, "a finished upload must leave the resume store"


def test_upload_streams_chunks_with_checksums(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    rec = Recorder()
    with make_client(server, tmp_path, rec) as client:
        client.upload(clip)
    size = clip.stat().st_size
    assert rec.methods()[0] == "POST"
    assert rec.patch_offsets() == list(range(0, size, CHUNK))
    patches = [h for m, _, h in rec.requests if m == "PATCH"]
    assert all(h["upload-checksum"].startswith("sha1 ") for h in patches)
    assert all(h["content-type"] == "application/offset+octet-stream" for h in patches)
    assert all(int(h["content-length"]) <= CHUNK for h in patches)
    post = rec.requests[0][2]
    assert post["tus-resumable"] == "1.0.0" and post["upload-length"] == str(size)
    assert "filename Y2xpcC5tcDQ=" in post["upload-metadata"]  # base64("clip.mp4")


def test_small_file_uses_creation_with_upload(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    rec = Recorder()
    with make_client(server, tmp_path, rec) as client:
        media = client.upload(small_clip, class_id=0)
        assert stored_sha1(client, media) == sha1_file(small_clip)
    assert "PATCH" not in rec.methods()
    post = rec.requests[0][2]
    assert post["content-length"] == str(small_clip.stat().st_size)
    assert post["upload-checksum"].startswith("sha1 ")


def test_upload_without_checksum(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    rec = Recorder()
    with make_client(server, tmp_path, rec) as client:
        media = client.upload(clip, checksum=False)
        assert stored_sha1(client, media) == sha1_file(clip)
    assert all("upload-checksum" not in h for m, _, h in rec.requests if m == "PATCH")


@pytest.mark.parametrize("mode", ["before", "mid-body", "after"])
def test_dropped_connection_resumes(server: ServerProc, tmp_path: Path, clip: Path, mode: str) -> None:
    fault = DropOnce(nth=3, mode=mode)
    with make_client(server, tmp_path, fault) as client:
        media = client.upload(clip)
        assert stored_sha1(client, media) == sha1_file(clip)
    assert fault.fired
    methods = fault.methods()
    third = [i for i, m in enumerate(methods) if m == "PATCH"][2]
    assert methods[third + 1] == "HEAD", "a retry must first ask the server for its offset"
    offsets = fault.patch_offsets()
    # Continued from the server's offset: after a lost reply, the chunk is not sent again.
    expected_repeat = 0 if mode == "after" else 1
    assert len(offsets) - len(set(offsets)) == expected_repeat


def test_5xx_is_retried(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    fault = Answer503Once(nth=2)
    with make_client(server, tmp_path, fault) as client:
        media = client.upload(clip)
        assert stored_sha1(client, media) == sha1_file(clip)
    assert "HEAD" in fault.methods()


def test_4xx_is_not_retried(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    fault = WrongOffsetOnce(nth=2)
    with make_client(server, tmp_path, fault) as client, pytest.raises(ApiError) as info:
        client.upload(clip)
    assert info.value.status == 409
    assert isinstance(info.value, OpenVODError)
    assert fault.methods().count("PATCH") == 2
    assert "HEAD" not in fault.methods()


@pytest.mark.slow
def test_resume_after_server_crash(fresh_server: ServerProc, tmp_path: Path, clip: Path) -> None:
    size = clip.stat().st_size
    fault = CrashServerAt(fresh_server, size // 2)
    with make_client(fresh_server, tmp_path, fault) as client:
        media = client.upload(clip)
        assert stored_sha1(client, media) == sha1_file(clip)
        assert media.metadata is not None and media.metadata["Width"] == 1280
    assert fault.crashed_at is not None and fault.crashed_at >= size // 2
    assert fault.methods().count("POST") == 1, "the same upload continued, none was created anew"


def test_resume_across_client_processes(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    with make_client(server, tmp_path, DieAfterPatches(2)) as client, pytest.raises(ProcessDied):
        client.upload(clip)
    (entry,) = store_entries(tmp_path).values()

    rec = Recorder()
    with make_client(server, tmp_path, rec) as client:
        media = client.upload(clip)
        assert stored_sha1(client, media) == sha1_file(clip)
    assert rec.requests[0][0] == "HEAD" and rec.requests[0][1] == entry["url"]
    assert "POST" not in rec.methods()
    assert rec.patch_offsets()[0] == 2 * CHUNK
    assert store_entries(tmp_path) == {}


def test_vanished_upload_starts_over(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    with make_client(server, tmp_path, DieAfterPatches(1)) as client, pytest.raises(ProcessDied):
        client.upload(clip)
    (entry,) = store_entries(tmp_path).values()
    with server.client() as raw:  # tus termination: the stored URL now points at nothing
        assert raw.delete(entry["url"], headers={"Tus-Resumable": "1.0.0"}).status_code == 204

    rec = Recorder()
    with make_client(server, tmp_path, rec) as client:
        media = client.upload(clip)
        assert stored_sha1(client, media) == sha1_file(clip)
    assert rec.methods()[:2] == ["HEAD", "POST"]
    assert rec.patch_offsets()[0] == 0


def test_upload_with_signature_only(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    signature = sign_upload(*server.auth, expire_in=600)
    with Client(server.url, upload_signature=signature, resume_store=tmp_path / "u.json") as anon:
        media = anon.upload(small_clip)
    assert media.file_id
    with make_client(server, tmp_path) as client:
        assert client.media(media.file_id).name == "small.mp4"


def test_one_time_signature_is_refused_the_second_time(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    signature = sign_upload(*server.auth, expire_in=600, one_time=True)
    with Client(server.url, upload_signature=signature, resume_store=tmp_path / "u.json") as anon:
        assert anon.upload(small_clip).file_id
        with pytest.raises(ApiError) as info:
            anon.upload(small_clip)
    assert info.value.status == 401
    assert info.value.code.startswith("AuthFailure")


# -- media ----------------------------------------------------------------------------------------


@pytest.fixture()
def uploaded(server: ServerProc, tmp_path: Path, small_clip: Path) -> Iterator[tuple[Client, Media]]:
    with make_client(server, tmp_path) as client:
        yield client, client.upload(small_clip)


def test_media_and_describe(uploaded: tuple[Client, Media]) -> None:
    client, media = uploaded
    again = client.media(media.file_id)
    assert again.file_id == media.file_id and again.source == media.source
    found, missing = client.describe_media([media.file_id, "999999999"])
    assert [m.file_id for m in found] == [media.file_id]
    assert missing == ["999999999"]


def test_list_and_iter_media(uploaded: tuple[Client, Media], small_clip: Path) -> None:
    client, first = uploaded
    unique = f"listing-{first.file_id}"
    client.modify_media(first.file_id, name=f"{unique}-a.mp4")
    second = client.upload(small_clip)
    client.modify_media(second.file_id, name=f"{unique.upper()}-b.mp4")

    page = client.list_media(name=unique, limit=1)
    assert [m.file_id for m in page.items] == [second.file_id], "newest first, name case-insensitive"
    assert page.next_marker
    rest = client.list_media(name=unique, limit=1, marker=page.next_marker)
    assert [m.file_id for m in rest.items] == [first.file_id]
    assert [m.file_id for m in client.iter_media(name=unique, page_size=1)] == [second.file_id, first.file_id]

    now = datetime.now(UTC)
    assert client.list_media(name=unique, created_from=now + timedelta(hours=1)).items == []
    assert len(client.list_media(name=unique, created_to=now + timedelta(hours=1)).items) == 2


def test_modify_media(uploaded: tuple[Client, Media]) -> None:
    client, media = uploaded
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    changed = client.modify_media(
        media.file_id, name="renamed.mp4", description="a test clip", class_id=0, expire_at=expiry
    )
    assert (changed.name, changed.description, changed.class_id) == ("renamed.mp4", "a test clip", 0)
    assert changed.expire_at == expiry
    kept = client.modify_media(media.file_id, description="still expiring")
    assert kept.expire_at == expiry and kept.name == "renamed.mp4"
    cleared = client.modify_media(media.file_id, expire_at=None)
    assert cleared.expire_at is None


def test_delete_media(uploaded: tuple[Client, Media]) -> None:
    client, media = uploaded
    deleted = client.delete_media(media.file_id)
    assert "source" in deleted
    with pytest.raises(ApiError) as info:
        client.media(media.file_id)
    assert info.value.status == 404
    assert info.value.code.startswith("ResourceNotFound")


def test_list_and_get_objects(uploaded: tuple[Client, Media], small_clip: Path) -> None:
    client, media = uploaded
    assert media.source is not None
    objects = client.list_objects(media.source.bucket, prefix=media.source.key)
    assert [(o.key, o.size) for o in objects] == [(media.source.key, small_clip.stat().st_size)]
    assert client.get_object(media.source.bucket, media.source.key) == small_clip.read_bytes()


# -- errors ---------------------------------------------------------------------------------------


def test_api_error_from_server(server: ServerProc, tmp_path: Path) -> None:
    with Client(server.url, server.secret_id, "wrong-secret-key") as client, pytest.raises(ApiError) as info:
        client.media("1")
    assert info.value.status == 401
    assert info.value.code.startswith("AuthFailure")
    assert info.value.message


def test_unreachable_server_is_a_network_error(tmp_path: Path) -> None:
    with Client("http://127.0.0.1:9", "id", "key") as client, pytest.raises(NetworkError) as info:
        client.media("1")
    assert isinstance(info.value, OpenVODError)
    assert info.value.code == "ClientError.Network"
