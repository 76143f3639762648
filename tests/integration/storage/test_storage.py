"""One suite for every ``Storage``: run against ``local`` and ``s3`` (moto standing in for an
S3-compatible server). Backend-specific checks are inline, or in the ``test_s3_*`` tests."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from botocore.exceptions import EndpointConnectionError

from openvod.errors import InvalidParameter, NotFound, StorageError
from openvod.storage import s3 as s3_module
from openvod.storage import s3_append
from openvod.storage.base import AppendWriter
from openvod.storage.s3 import S3Storage

if TYPE_CHECKING:
    from tests.integration.storage.conftest import StorageCase

MiB = 1024 * 1024


def read(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)


def sha1(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha1()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def put_bytes(case: StorageCase, key: str, data: bytes, **kw: Any) -> None:
    case.storage.put(case.bucket, key, io.BytesIO(data), **kw)


def s3_client(case: StorageCase) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=case.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


# -- objects ---------------------------------------------------------------------------------
def test_put_stat_open(case: StorageCase) -> None:
    data = os.urandom(100_000)
    stat = case.storage.put(case.bucket, "a/b/clip.mp4", io.BytesIO(data), content_type="video/mp4")
    assert (stat.bucket, stat.key, stat.size, stat.content_type) == (
        case.bucket,
        "a/b/clip.mp4",
        100_000,
        "video/mp4",
    )
    assert stat.etag
    again = case.storage.stat(case.bucket, "a/b/clip.mp4")
    assert (again.size, again.etag, again.content_type) == (stat.size, stat.etag, stat.content_type)
    assert read(case.storage.open(case.bucket, "a/b/clip.mp4")) == data


def test_put_replaces(case: StorageCase) -> None:
    put_bytes(case, "x.bin", b"first version")
    put_bytes(case, "x.bin", b"second")
    assert read(case.storage.open(case.bucket, "x.bin")) == b"second"
    assert case.storage.stat(case.bucket, "x.bin").size == 6


def test_put_empty(case: StorageCase) -> None:
    assert case.storage.put(case.bucket, "empty", io.BytesIO(b"")).size == 0
    assert read(case.storage.open(case.bucket, "empty")) == b""
    assert read(case.storage.open(case.bucket, "empty", start=0, end=10)) == b""


@pytest.mark.parametrize(
    ("start", "end", "expect"),
    [
        (0, 0, slice(0, 1)),  # first byte
        (1000, 1999, slice(1000, 2000)),  # middle
        (9_990, None, slice(9_990, None)),  # suffix
        (0, None, slice(0, None)),  # everything
        (9_995, 20_000, slice(9_995, None)),  # end past the object is clamped
        (10_000, None, slice(0, 0)),  # starts at the end: nothing
        (20_000, 30_000, slice(0, 0)),  # starts past the end: nothing
        (50, 49, slice(0, 0)),  # empty range
    ],
)
def test_open_range(case: StorageCase, start: int, end: int | None, expect: slice) -> None:
    data = os.urandom(10_000)
    put_bytes(case, "r.bin", data)
    assert read(case.storage.open(case.bucket, "r.bin", start=start, end=end)) == data[expect]


def test_open_chunking(case: StorageCase) -> None:
    data = os.urandom(10_000)
    put_bytes(case, "c.bin", data)
    chunks = list(case.storage.open(case.bucket, "c.bin", start=100, end=5_099, chunk_size=1_000))
    assert all(0 < len(c) <= 1_000 for c in chunks)
    assert b"".join(chunks) == data[100:5_100]


def test_big_object_streams(case: StorageCase, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    want = hashlib.sha1()
    with open(src, "wb") as f:
        for _ in range(20):
            chunk = os.urandom(MiB)
            want.update(chunk)
            f.write(chunk)
    with open(src, "rb") as f:
        stat = case.storage.put(case.bucket, "big/video.bin", f)
    assert stat.size == 20 * MiB
    assert sha1(case.storage.open(case.bucket, "big/video.bin", chunk_size=MiB)) == want.hexdigest()
    # A range straddling the first part boundary.
    with open(src, "rb") as f:
        f.seek(5 * MiB - 10)
        expected = f.read(20)
    assert read(case.storage.open(case.bucket, "big/video.bin", start=5 * MiB - 10, end=5 * MiB + 9)) == expected


def test_delete(case: StorageCase) -> None:
    put_bytes(case, "d/x.txt", b"x")
    assert case.storage.exists(case.bucket, "d/x.txt")
    case.storage.delete(case.bucket, "d/x.txt")
    assert not case.storage.exists(case.bucket, "d/x.txt")
    case.storage.delete(case.bucket, "d/x.txt")  # again: fine
    case.storage.delete(case.bucket, "never/was.txt")


def test_delete_prefix(case: StorageCase) -> None:
    for key in ("v/1/a", "v/1/b/c", "v/10/c", "w/x"):
        put_bytes(case, key, key.encode())
    assert case.storage.delete_prefix(case.bucket, "v/1/") == 2
    assert sorted(o.key for o in case.storage.list(case.bucket)) == ["v/10/c", "w/x"]
    assert case.storage.delete_prefix(case.bucket, "nothing/") == 0


def test_list(case: StorageCase) -> None:
    for key, size in (("v/a.mp4", 3), ("v/sub/b.m3u8", 5), ("vx/c", 7), ("w/d", 9)):
        put_bytes(case, key, b"z" * size)
    listed = {o.key: o for o in case.storage.list(case.bucket, "v/")}
    assert sorted(listed) == ["v/a.mp4", "v/sub/b.m3u8"]
    assert (listed["v/a.mp4"].size, listed["v/a.mp4"].content_type) == (3, "video/mp4")
    assert listed["v/sub/b.m3u8"].size == 5
    assert all(o.bucket == case.bucket and o.etag for o in listed.values())
    assert sorted(o.key for o in case.storage.list(case.bucket, "v")) == ["v/a.mp4", "v/sub/b.m3u8", "vx/c"]
    assert len(list(case.storage.list(case.bucket))) == 4
    assert list(case.storage.list(case.bucket, "none/")) == []
    assert list(case.storage.list("never-made")) == []


def test_move(case: StorageCase) -> None:
    put_bytes(case, "in/src.mp4", b"payload")
    put_bytes(case, "out/dst.mp4", b"old")
    stat = case.storage.move(case.bucket, "in/src.mp4", "out/dst.mp4")
    assert (stat.key, stat.size, stat.content_type) == ("out/dst.mp4", 7, "video/mp4")
    assert not case.storage.exists(case.bucket, "in/src.mp4")
    assert read(case.storage.open(case.bucket, "out/dst.mp4")) == b"payload"
    # Onto itself: a no-op, not a loss.
    assert case.storage.move(case.bucket, "out/dst.mp4", "out/dst.mp4").size == 7
    assert read(case.storage.open(case.bucket, "out/dst.mp4")) == b"payload"
    with pytest.raises(NotFound) as err:
        case.storage.move(case.bucket, "in/src.mp4", "elsewhere")
    assert err.value.code == "ResourceNotFound.Object"


def test_exists(case: StorageCase) -> None:
    assert not case.storage.exists(case.bucket, "e/x")
    put_bytes(case, "e/x", b"1")
    assert case.storage.exists(case.bucket, "e/x")
    assert not case.storage.exists(case.bucket, "e")  # a "directory" is not an object


def test_signed_url(case: StorageCase) -> None:
    data = os.urandom(4_000)
    put_bytes(case, "s/clip.mp4", data)
    before = int(time.time())
    url = case.storage.signed_url(case.bucket, "s/clip.mp4", expires_in=600)
    if case.kind == "s3":
        response = httpx.get(url, timeout=10.0)
        assert response.status_code == 200
        assert response.content == data
    else:
        assert len(case.signer_calls) == 1
        bucket, key, expires, method = case.signer_calls[0]
        assert (bucket, key, method) == (case.bucket, "s/clip.mp4", "GET")
        assert before + 600 <= expires <= int(time.time()) + 600
        assert url.startswith("https://vod.example/objects/media/s/clip.mp4")


def test_local_path(case: StorageCase) -> None:
    data = os.urandom(50_000)
    put_bytes(case, "lp/movie.mp4", data)
    with case.storage.local_path(case.bucket, "lp/movie.mp4") as path:
        assert path.read_bytes() == data
        assert path.suffix == ".mp4"
    if case.kind == "s3":
        assert not path.exists()  # the temporary download is gone
    with pytest.raises(NotFound) as err, case.storage.local_path(case.bucket, "lp/missing.mp4"):
        pass
    assert err.value.code == "ResourceNotFound.Object"
    if case.spool_dir is not None:
        assert list(case.spool_dir.iterdir()) == []  # no temporary download left behind


BAD_KEYS = ["..", "a/../b", "/abs", "a\x00b", "a//b", "a" * 2000]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=["dotdot", "dotdot-inside", "absolute", "nul", "empty-seg", "long"])
def test_invalid_keys_refused(case: StorageCase, bad: str) -> None:
    s, b = case.storage, case.bucket
    operations: list[Callable[[], object]] = [
        lambda: s.put(b, bad, io.BytesIO(b"x")),
        lambda: s.stat(b, bad),
        lambda: s.open(b, bad),
        lambda: s.exists(b, bad),
        lambda: s.delete(b, bad),
        lambda: s.move(b, bad, "ok"),
        lambda: s.move(b, "ok", bad),
        lambda: s.signed_url(b, bad),
        lambda: s.local_path(b, bad).__enter__(),
        lambda: s.begin_append(b, bad),
    ]
    put_bytes(case, "ok", b"still here")
    for operation in operations:
        with pytest.raises(InvalidParameter) as err:
            operation()
        assert err.value.code == "InvalidParameter.ObjectKey"
    assert read(s.open(b, "ok")) == b"still here"


def test_missing_object(case: StorageCase) -> None:
    for operation in (
        lambda: case.storage.stat(case.bucket, "no/such"),
        lambda: case.storage.open(case.bucket, "no/such"),
        lambda: case.storage.open(case.bucket, "no/such", start=5, end=10),
        lambda: case.storage.open(case.bucket, "no/such", start=5, end=4),
    ):
        with pytest.raises(NotFound) as err:
            operation()
        assert err.value.code == "ResourceNotFound.Object"


# -- resumable writes ------------------------------------------------------------------------
def write_in(writer: AppendWriter, data: bytes, sizes: Iterable[int]) -> None:
    pos = 0
    for size in sizes:
        writer.write(data[pos : pos + size])
        pos += size
    assert pos == len(data)


def test_append_commit_rollback_resume(case: StorageCase) -> None:
    data = os.urandom(13 * MiB + 12_345)
    a, b = 700_001, 6 * MiB + 3  # b crosses the first 5 MiB part boundary
    handle = case.storage.begin_append(case.bucket, "up/movie.mp4")
    assert case.storage.appended_size(handle) == 0

    w = case.storage.open_append(handle)
    w.write(data[:a])
    assert w.commit() == a
    w.write(os.urandom(1000))  # e.g. a tus chunk whose checksum turns out wrong
    assert w.offset == a + 1000
    w.rollback()
    assert w.offset == a
    write_in(w, data[a:b], [1 * MiB, 3 * MiB + 17, b - a - 4 * MiB - 17])
    assert w.commit() == b
    w.close()
    assert case.storage.appended_size(handle) == b

    fresh = case.reopen()  # a restart: only the handle string survives
    assert fresh.appended_size(handle) == b
    w = fresh.open_append(handle)
    assert w.offset == b
    c = b + 2 * MiB + 99
    write_in(w, data[b:c], [99, MiB, MiB])
    assert w.commit() == c
    w.write(b"junk")
    w.rollback()
    write_in(w, data[c:], [3 * MiB + 1, 2 * MiB - 7, len(data) - c - 5 * MiB + 6])
    assert w.commit() == len(data)
    w.close()
    assert fresh.appended_size(handle) == len(data)

    stat = fresh.finish_append(handle)
    assert (stat.key, stat.size, stat.content_type) == ("up/movie.mp4", len(data), "video/mp4")
    assert sha1(fresh.open(case.bucket, "up/movie.mp4")) == hashlib.sha1(data).hexdigest()
    assert fresh.appended_size(handle) == 0
    with pytest.raises(NotFound) as err:
        fresh.open_append(handle)
    assert err.value.code == "ResourceNotFound.Upload"


@pytest.mark.parametrize("size", [0, 1_000, 10 * MiB], ids=["empty", "one-small-part", "exact-parts"])
def test_append_sizes(case: StorageCase, size: int) -> None:
    data = os.urandom(size)
    handle = case.storage.begin_append(case.bucket, "up/sized.bin")
    w = case.storage.open_append(handle)
    w.write(data)
    assert w.commit() == size
    w.close()
    assert case.storage.appended_size(handle) == size
    stat = case.storage.finish_append(handle)
    assert stat.size == size
    assert read(case.storage.open(case.bucket, "up/sized.bin")) == data


def test_append_never_opened_is_empty_object(case: StorageCase) -> None:
    handle = case.storage.begin_append(case.bucket, "up/nothing.bin")
    assert case.storage.finish_append(handle).size == 0
    assert case.storage.stat(case.bucket, "up/nothing.bin").size == 0


def test_append_abort(case: StorageCase) -> None:
    handle = case.storage.begin_append(case.bucket, "up/aborted.bin")
    w = case.storage.open_append(handle)
    w.write(os.urandom(6 * MiB))
    w.commit()
    w.close()
    case.storage.abort_append(handle)
    assert not case.storage.exists(case.bucket, "up/aborted.bin")
    assert case.storage.appended_size(handle) == 0
    with pytest.raises(NotFound) as err:
        case.storage.open_append(handle)
    assert err.value.code == "ResourceNotFound.Upload"
    case.storage.abort_append(handle)  # again: fine
    if case.spool_dir is not None:
        assert list(case.spool_dir.iterdir()) == []


# -- S3 multipart internals ------------------------------------------------------------------
def test_s3_parts_and_spool(s3_case: StorageCase) -> None:
    assert s3_case.spool_dir is not None
    data = os.urandom(11 * MiB)
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/parts.bin")
    w = s3_case.storage.open_append(handle)
    write_in(w, data, [4 * MiB, 7 * MiB])
    w.commit()
    w.close()
    upload_id = s3_append._Handle.parse(handle).upload_id
    parts = s3_client(s3_case).list_parts(Bucket=s3_case.physical_bucket, Key="up/parts.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [(1, 5 * MiB), (2, 5 * MiB)]
    spools = sorted(p.name for p in s3_case.spool_dir.iterdir())
    assert len(spools) == 1 and spools[0].endswith(".3.part")
    assert (s3_case.spool_dir / spools[0]).stat().st_size == MiB
    assert s3_case.storage.finish_append(handle).size == 11 * MiB
    assert list(s3_case.spool_dir.iterdir()) == []


def test_s3_bucket_prefix_and_content_type(s3_case: StorageCase) -> None:
    buckets = [b["Name"] for b in s3_client(s3_case).list_buckets()["Buckets"]]
    assert s3_case.physical_bucket in buckets and s3_case.physical_bucket != s3_case.bucket
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/typed.bin")
    w = s3_case.storage.open_append(handle)
    w.write(b"x" * 100)
    w.commit()
    w.close()
    assert s3_case.storage.finish_append(handle, content_type="video/mp4").content_type == "video/mp4"
    assert s3_case.storage.stat(s3_case.bucket, "up/typed.bin").content_type == "video/mp4"


def test_s3_malformed_handle(s3_case: StorageCase) -> None:
    for handle in (
        "not json",
        '{"bucket": "media"}',
        '{"bucket":"media","key":"k","upload_id":"u","id":"../x"}',
    ):
        with pytest.raises(StorageError):
            s3_case.storage.appended_size(handle)


class Crash(BaseException):
    """The process dies here (BaseException, so nothing on the way can swallow it)."""


def crash(*_args: object, **_kwargs: object) -> None:
    raise Crash


def resume_and_finish(case: StorageCase, handle: str, data: bytes, written: int) -> None:
    fresh = case.reopen()
    assert fresh.appended_size(handle) == written
    w = fresh.open_append(handle)
    assert w.offset == written
    w.write(data[written:])
    assert w.commit() == len(data)
    w.close()
    assert fresh.finish_append(handle).size == len(data)
    assert sha1(fresh.open(case.bucket, "up/crash.bin")) == hashlib.sha1(data).hexdigest()
    assert case.spool_dir is not None and list(case.spool_dir.iterdir()) == []


def test_s3_crash_after_part_upload_before_trim(s3_case: StorageCase, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(8 * MiB + 5)
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/crash.bin")
    w = s3_case.storage.open_append(handle)
    w.write(data[: 6 * MiB])
    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)  # the carry-over to the next spool never lands
        with pytest.raises(Crash):
            w.commit()
    w.close()
    upload_id = s3_append._Handle.parse(handle).upload_id
    parts = s3_client(s3_case).list_parts(Bucket=s3_case.physical_bucket, Key="up/crash.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [(1, 5 * MiB)]  # uploaded...
    assert s3_case.spool_dir is not None
    assert any(p.name.endswith(".1.part") for p in s3_case.spool_dir.iterdir())  # ...and still spooled
    resume_and_finish(s3_case, handle, data, 6 * MiB)  # counted once, not 11 MiB


def test_s3_crash_after_carry_over_before_unlink(s3_case: StorageCase, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(12 * MiB)
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/crash.bin")
    w = s3_case.storage.open_append(handle)
    w.write(data[: 7 * MiB])
    with monkeypatch.context() as m:
        m.setattr(Path, "unlink", crash)  # the old spool is never deleted
        with pytest.raises(Crash):
            w.commit()
    w.close()
    assert s3_case.spool_dir is not None
    assert sorted(p.name.split(".", 1)[1] for p in s3_case.spool_dir.iterdir()) == ["1.part", "2.part"]
    resume_and_finish(s3_case, handle, data, 7 * MiB)


def test_s3_crash_after_complete_before_cleanup(s3_case: StorageCase, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(MiB)
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/crash.bin")
    w = s3_case.storage.open_append(handle)
    w.write(data)
    w.commit()
    w.close()
    with monkeypatch.context() as m:
        m.setattr(s3_module.S3Storage, "_remove_spools", crash)
        with pytest.raises(Crash):
            s3_case.storage.finish_append(handle)
    fresh = s3_case.reopen()
    # The object is published; the upload is gone. The tus service reads this as "done".
    assert read(fresh.open(s3_case.bucket, "up/crash.bin")) == data
    with pytest.raises(NotFound) as err:
        fresh.appended_size(handle)
    assert err.value.code == "ResourceNotFound.Upload"
    fresh.abort_append(handle)  # cleans the leftover spool
    assert s3_case.spool_dir is not None and list(s3_case.spool_dir.iterdir()) == []


def test_s3_unreachable_endpoint_is_storage_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = S3Storage(f"http://127.0.0.1:{port}", "testing", "testing", spool_dir=tmp_path / "spool")
    with pytest.raises(StorageError) as err:
        storage.stat("media", "a.mp4")
    assert isinstance(err.value.__cause__, EndpointConnectionError)
    assert f"127.0.0.1:{port}" in err.value.message


def test_s3_failed_part_upload_is_retried(s3_case: StorageCase, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(s3_case.storage, S3Storage)
    data = os.urandom(6 * MiB)
    handle = s3_case.storage.begin_append(s3_case.bucket, "up/flaky.bin")
    w = s3_case.storage.open_append(handle)
    w.write(data)
    with monkeypatch.context() as m:

        def unreachable(**_kwargs: object) -> None:
            raise EndpointConnectionError(endpoint_url=s3_case.endpoint)

        m.setattr(s3_case.storage._client, "upload_part", unreachable)
        with pytest.raises(StorageError):
            w.commit()
    assert s3_case.storage.appended_size(handle) == 6 * MiB  # the bytes are safe in the spool
    assert w.commit() == 6 * MiB  # and go up on the next commit
    w.close()
    assert s3_case.storage.finish_append(handle).size == 6 * MiB
    assert sha1(s3_case.storage.open(s3_case.bucket, "up/flaky.bin")) == hashlib.sha1(data).hexdigest()
