"""The S3 gateway does what a request asks, or refuses it the way S3 does: never something else.

Every check goes through real boto3 (or a URL boto3 presigned). What each part covers:

* operations and sub-resources the gateway does not implement answer 501 ``NotImplemented``,
  and leave objects and buckets as they were;
* DeleteObjects; user metadata and the standard headers (stored, returned, copied, through
  multipart), ``response-*`` overrides, and the content-safety headers that no stored or
  requested type lifts;
* conditional GET/HEAD/PUT and copy-source conditions, with S3's precedence;
* keys that are prefixes of other keys and folder markers (``a/``), in the local storage too
  (with a data directory of the layout before it);
* multipart: ListMultipartUploads, ListParts paging, EntityTooSmall, completing twice,
  ``partNumber`` reads;
* error names: InvalidRange, presigned expiry bounds; listing edges of V1 and V2.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from openvod.storage.local import LocalStorage
from tests.conftest import make_app_server
from tests.servers import InProcessServer

MiB = 1 << 20


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("s3contract"), {"OPENVOD_WORKERS": "0"})
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def c(srv: InProcessServer) -> Any:
    return boto3.client(
        "s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
        aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1}),
    )


def refused(fn: Callable[[], Any]) -> tuple[int, str]:
    """The (HTTP status, S3 error code) ``fn``'s request was refused with."""
    with pytest.raises(ClientError) as e:
        fn()
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"], str(e.value.response["Error"]["Code"])


def bucket(c: Any, name: str) -> str:
    c.create_bucket(Bucket=name)
    return name


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    return dict(response["ResponseMetadata"]["HTTPHeaders"])


def rfc2047(value: str) -> str:
    return str(make_header(decode_header(value)))


# -- operations the gateway does not implement --------------------------------------------------

_TAGS = {"TagSet": [{"Key": "k", "Value": "v"}]}
UNIMPLEMENTED: dict[str, Callable[[Any, str], Any]] = {
    "PutObjectTagging": lambda c, b: c.put_object_tagging(Bucket=b, Key="obj", Tagging=_TAGS),
    "GetObjectTagging": lambda c, b: c.get_object_tagging(Bucket=b, Key="obj"),
    "DeleteObjectTagging": lambda c, b: c.delete_object_tagging(Bucket=b, Key="obj"),
    "PutObjectAcl": lambda c, b: c.put_object_acl(Bucket=b, Key="obj", ACL="public-read"),
    "GetObjectAcl": lambda c, b: c.get_object_acl(Bucket=b, Key="obj"),
    "GetObjectAttributes": lambda c, b: c.get_object_attributes(Bucket=b, Key="obj", ObjectAttributes=["ETag"]),
    "GetObjectRetention": lambda c, b: c.get_object_retention(Bucket=b, Key="obj"),
    "GetObjectLegalHold": lambda c, b: c.get_object_legal_hold(Bucket=b, Key="obj"),
    "GetObjectTorrent": lambda c, b: c.get_object_torrent(Bucket=b, Key="obj"),
    "RestoreObject": lambda c, b: c.restore_object(Bucket=b, Key="obj", RestoreRequest={"Days": 1}),
    "GetObject versionId": lambda c, b: c.get_object(Bucket=b, Key="obj", VersionId="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"),
    "DeleteObject versionId": lambda c, b: c.delete_object(Bucket=b, Key="obj", VersionId="3HL4kqtJlcpXroDTDm"),
    "PutObject Tagging": lambda c, b: c.put_object(Bucket=b, Key="obj", Body=b"other", Tagging="k=v"),
    "PutObject SSE": lambda c, b: c.put_object(Bucket=b, Key="obj", Body=b"other", ServerSideEncryption="aws:kms"),
    "PutObject ObjectLock": lambda c, b: c.put_object(Bucket=b, Key="obj", Body=b"other",
                                                      ObjectLockLegalHoldStatus="ON"),
    "PutBucketVersioning": lambda c, b: c.put_bucket_versioning(Bucket=b,
                                                                VersioningConfiguration={"Status": "Enabled"}),
    "GetBucketVersioning": lambda c, b: c.get_bucket_versioning(Bucket=b),
    "ListObjectVersions": lambda c, b: c.list_object_versions(Bucket=b),
    "PutBucketPolicy": lambda c, b: c.put_bucket_policy(Bucket=b, Policy="{}"),
    "DeleteBucketPolicy": lambda c, b: c.delete_bucket_policy(Bucket=b),
    "GetBucketAcl": lambda c, b: c.get_bucket_acl(Bucket=b),
    "GetBucketCors": lambda c, b: c.get_bucket_cors(Bucket=b),
    "DeleteBucketCors": lambda c, b: c.delete_bucket_cors(Bucket=b),
    "PutBucketTagging": lambda c, b: c.put_bucket_tagging(Bucket=b, Tagging=_TAGS),
    "DeleteBucketLifecycle": lambda c, b: c.delete_bucket_lifecycle(Bucket=b),
    "GetBucketWebsite": lambda c, b: c.get_bucket_website(Bucket=b),
    "DeleteBucketEncryption": lambda c, b: c.delete_bucket_encryption(Bucket=b),
    "GetBucketLogging": lambda c, b: c.get_bucket_logging(Bucket=b),
    "GetBucketNotificationConfiguration": lambda c, b: c.get_bucket_notification_configuration(Bucket=b),
    "GetObjectLockConfiguration": lambda c, b: c.get_object_lock_configuration(Bucket=b),
    "GetBucketOwnershipControls": lambda c, b: c.get_bucket_ownership_controls(Bucket=b),
    "DeletePublicAccessBlock": lambda c, b: c.delete_public_access_block(Bucket=b),
    "GetBucketRequestPayment": lambda c, b: c.get_bucket_request_payment(Bucket=b),
    "GetBucketAccelerateConfiguration": lambda c, b: c.get_bucket_accelerate_configuration(Bucket=b),
    "ListBucketMetricsConfigurations": lambda c, b: c.list_bucket_metrics_configurations(Bucket=b),
    "ListBucketIntelligentTieringConfigurations":
        lambda c, b: c.list_bucket_intelligent_tiering_configurations(Bucket=b),
}


@pytest.mark.parametrize("operation", list(UNIMPLEMENTED))
def test_unimplemented_operations_are_refused_and_change_nothing(c: Any, operation: str) -> None:
    name = bucket(c, "nimpl-" + hashlib.md5(operation.encode(), usedforsecurity=False).hexdigest()[:12])
    c.put_object(Bucket=name, Key="obj", Body=b"original", ContentType="text/plain")
    assert refused(lambda: UNIMPLEMENTED[operation](c, name)) == (501, "NotImplemented")
    got = c.get_object(Bucket=name, Key="obj")
    assert got["Body"].read() == b"original" and got["ContentType"] == "text/plain"
    c.head_bucket(Bucket=name)
    assert [o["Key"] for o in c.list_objects_v2(Bucket=name)["Contents"]] == ["obj"]


def test_refusal_is_s3_xml_with_status_501(c: Any, srv: InProcessServer) -> None:
    bucket(c, "nimpl-xml")
    url = c.generate_presigned_url("get_object_acl", Params={"Bucket": "nimpl-xml", "Key": "k"}, ExpiresIn=60)
    r = httpx.get(url)
    assert r.status_code == 501 and "<Code>NotImplemented</Code>" in r.text, r.text


# -- DeleteObjects ------------------------------------------------------------------------------

def test_delete_objects(c: Any) -> None:
    bucket(c, "batch")
    keys = [f"d/{i:03d}" for i in range(12)]
    for k in keys:
        c.put_object(Bucket="batch", Key=k, Body=k.encode())
    r = c.delete_objects(Bucket="batch", Delete={"Objects": [{"Key": k} for k in [*keys[:5], "never/there"]]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted([*keys[:5], "never/there"]) and "Errors" not in r
    assert [o["Key"] for o in c.list_objects_v2(Bucket="batch")["Contents"]] == keys[5:]
    # Quiet: only errors are reported; a bad key or a version fails alone.
    r = c.delete_objects(Bucket="batch", Delete={"Quiet": True, "Objects": [
        {"Key": keys[5]}, {"Key": "a/../b"}, {"Key": keys[6], "VersionId": "v123"}]})
    assert "Deleted" not in r
    assert sorted((e["Key"], e["Code"]) for e in r["Errors"]) == [("a/../b", "InvalidArgument"),
                                                                  (keys[6], "NotImplemented")]
    assert [o["Key"] for o in c.list_objects_v2(Bucket="batch")["Contents"]] == keys[6:]
    too_many = {"Objects": [{"Key": f"k{i}"} for i in range(1001)]}
    assert refused(lambda: c.delete_objects(Bucket="batch", Delete=too_many)) == (400, "MalformedXML")
    assert refused(lambda: c.delete_objects(Bucket="nobucket-here", Delete={"Objects": [{"Key": "x"}]})) == \
        (404, "NoSuchBucket")


def test_delete_objects_needs_an_integrity_header(c: Any, srv: InProcessServer) -> None:
    bucket(c, "batch-md5")
    c.put_object(Bucket="batch-md5", Key="x", Body=b"x")
    plain = boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                         aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                         config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                       retries={"max_attempts": 1}))

    def strip(request: Any, **_: Any) -> None:
        for name in list(request.headers.keys()):
            if name.lower() == "content-md5" or name.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum")):
                del request.headers[name]

    plain.meta.events.register("before-sign.s3.DeleteObjects", strip)
    assert refused(lambda: plain.delete_objects(Bucket="batch-md5", Delete={"Objects": [{"Key": "x"}]})) == \
        (400, "InvalidRequest")

    def corrupt(request: Any, **_: Any) -> None:
        strip(request)
        request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(b"other").digest()).decode()

    plain.meta.events.unregister("before-sign.s3.DeleteObjects", strip)
    plain.meta.events.register("before-sign.s3.DeleteObjects", corrupt)
    assert refused(lambda: plain.delete_objects(Bucket="batch-md5", Delete={"Objects": [{"Key": "x"}]})) == \
        (400, "BadDigest")
    assert c.get_object(Bucket="batch-md5", Key="x")["Body"].read() == b"x"


# -- metadata and standard headers --------------------------------------------------------------

UNICODE = "日本語 café"
ENCODED = "=?UTF-8?B?" + base64.b64encode(UNICODE.encode()).decode() + "?="
STANDARD = {"CacheControl": "no-cache, max-age=60", "ContentDisposition": 'attachment; filename="clip.mp4"',
            "ContentEncoding": "identity", "ContentLanguage": "fr-CA"}


def _assert_metadata(response: dict[str, Any]) -> None:
    meta = response["Metadata"]
    assert meta["plain"] == "hello world" and meta["mixed-case"] == "V"
    assert rfc2047(meta["encoded"]) == UNICODE and meta["encoded"].isascii()
    assert rfc2047(meta["raw"]) == UNICODE and meta["raw"].isascii()
    for name, value in STANDARD.items():
        assert response[name] == value, name
    assert headers_of(response)["expires"] == "Thu, 01 Dec 2033 16:00:00 GMT"
    assert response["ContentType"] == "video/mp4; codecs=\"avc1.42E01E\""


def _raw_utf8_meta(request: Any, **_: Any) -> None:
    # botocore refuses non-ASCII metadata; other SDKs send it as UTF-8 bytes (added after signing:
    # x-amz-meta-* need not be signed).
    request.headers["x-amz-meta-raw"] = UNICODE.encode().decode("latin-1")


def _put_with_metadata(c: Any, b: str, key: str) -> dict[str, Any]:
    c.meta.events.register("before-send.s3.PutObject", _raw_utf8_meta)
    try:
        return dict(c.put_object(Bucket=b, Key=key, Body=b"\0" * 100, ContentType='video/mp4; codecs="avc1.42E01E"',
                                 Metadata={"plain": "hello world", "Mixed-Case": "V", "encoded": ENCODED},
                                 Expires=datetime(2033, 12, 1, 16, tzinfo=UTC), **STANDARD))
    finally:
        c.meta.events.unregister("before-send.s3.PutObject", _raw_utf8_meta)


def test_user_metadata_and_standard_headers_round_trip(c: Any) -> None:
    bucket(c, "meta")
    _put_with_metadata(c, "meta", "m.mp4")
    _assert_metadata(c.head_object(Bucket="meta", Key="m.mp4"))
    got = c.get_object(Bucket="meta", Key="m.mp4")
    _assert_metadata(got)
    assert got["Body"].read() == b"\0" * 100
    big = {"k": "x" * 2100}
    assert refused(lambda: c.put_object(Bucket="meta", Key="big", Body=b"", Metadata=big)) == (400, "MetadataTooLarge")


def test_copy_metadata_directive(c: Any) -> None:
    bucket(c, "meta-copy")
    _put_with_metadata(c, "meta-copy", "src.mp4")
    c.copy_object(Bucket="meta-copy", Key="kept.mp4", CopySource="meta-copy/src.mp4")
    _assert_metadata(c.head_object(Bucket="meta-copy", Key="kept.mp4"))
    c.copy_object(Bucket="meta-copy", Key="new.mp4", CopySource="meta-copy/src.mp4", MetadataDirective="REPLACE",
                  ContentType="audio/mp4", Metadata={"only": "this"})
    head = c.head_object(Bucket="meta-copy", Key="new.mp4")
    assert head["Metadata"] == {"only": "this"} and head["ContentType"] == "audio/mp4"
    assert "CacheControl" not in head and "ContentDisposition" not in head


def test_multipart_metadata_lands_on_the_object(c: Any) -> None:
    bucket(c, "meta-mp")
    up = c.create_multipart_upload(Bucket="meta-mp", Key="mp.bin", ContentType="application/x-custom",
                                   Metadata={"origin": "camera-7"}, ContentDisposition="attachment",
                                   CacheControl="max-age=5")["UploadId"]
    etag = c.upload_part(Bucket="meta-mp", Key="mp.bin", UploadId=up, PartNumber=1, Body=b"tiny")["ETag"]
    c.complete_multipart_upload(Bucket="meta-mp", Key="mp.bin", UploadId=up,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    head = c.head_object(Bucket="meta-mp", Key="mp.bin")
    assert head["Metadata"] == {"origin": "camera-7"} and head["ContentType"] == "application/x-custom"
    assert head["CacheControl"] == "max-age=5" and head["ContentDisposition"].startswith("attachment")


def test_response_overrides(c: Any) -> None:
    bucket(c, "overrides")
    c.put_object(Bucket="overrides", Key="v.mp4", Body=b"video", ContentType="video/mp4")
    got = c.get_object(Bucket="overrides", Key="v.mp4", ResponseContentType="audio/mp4",
                       ResponseCacheControl="no-store", ResponseContentDisposition='attachment; filename="a.m4a"',
                       ResponseContentEncoding="identity", ResponseContentLanguage="de",
                       ResponseExpires=datetime(2030, 1, 1, tzinfo=UTC))
    assert (got["ContentType"], got["CacheControl"], got["ContentDisposition"], got["ContentEncoding"],
            got["ContentLanguage"]) == ("audio/mp4", "no-store", 'attachment; filename="a.m4a"', "identity", "de")
    assert headers_of(got)["expires"] == "Tue, 01 Jan 2030 00:00:00 GMT"
    assert got["Body"].read() == b"video"
    head = c.head_object(Bucket="overrides", Key="v.mp4", ResponseContentType="audio/mp4")
    assert head["ContentType"] == "audio/mp4"


def test_stored_or_requested_types_never_make_an_object_active(c: Any, srv: InProcessServer) -> None:
    bucket(c, "safety")
    c.put_object(Bucket="safety", Key="page.html", Body=b"<script>alert(1)</script>", ContentType="text/html",
                 ContentDisposition="inline")
    c.put_object(Bucket="safety", Key="v.mp4", Body=b"<script>alert(1)</script>", ContentType="video/mp4")
    stored = headers_of(c.get_object(Bucket="safety", Key="page.html"))
    requested = headers_of(c.get_object(Bucket="safety", Key="v.mp4", ResponseContentType="text/html",
                                        ResponseContentDisposition="inline"))
    url = c.generate_presigned_url("get_object", ExpiresIn=60, Params={
        "Bucket": "safety", "Key": "v.mp4", "ResponseContentType": "image/svg+xml"})
    presigned = {k.lower(): v for k, v in httpx.get(url).headers.items()}
    for h in (stored, requested, presigned):
        assert h["x-content-type-options"] == "nosniff", h
        assert h["content-disposition"].startswith("attachment"), h
        assert h["content-security-policy"].startswith("sandbox"), h
    assert stored["content-type"] == "text/html" and requested["content-type"] == "text/html"
    passive = headers_of(c.get_object(Bucket="safety", Key="v.mp4", ResponseContentDisposition="inline"))
    assert passive["content-disposition"] == "inline" and "content-security-policy" not in passive


# -- conditional requests -----------------------------------------------------------------------

def test_conditional_get_and_head(c: Any) -> None:
    bucket(c, "cond")
    etag = c.put_object(Bucket="cond", Key="o", Body=b"0123456789")["ETag"]
    lm = c.head_object(Bucket="cond", Key="o")["LastModified"]
    before, after = lm - timedelta(days=1), lm + timedelta(days=1)
    for call in (c.get_object, c.head_object):
        assert call(Bucket="cond", Key="o", IfMatch=etag)["ETag"] == etag
        assert refused(lambda: call(Bucket="cond", Key="o", IfMatch='"0000"'))[0] == 412  # noqa: B023
        assert refused(lambda: call(Bucket="cond", Key="o", IfNoneMatch=etag))[0] == 304  # noqa: B023
        assert refused(lambda: call(Bucket="cond", Key="o", IfModifiedSince=lm))[0] == 304  # noqa: B023
        assert refused(lambda: call(Bucket="cond", Key="o", IfUnmodifiedSince=before))[0] == 412  # noqa: B023
        assert call(Bucket="cond", Key="o", IfNoneMatch='"0000"', IfModifiedSince=after)["ETag"] == etag
        # S3's precedence: If-Match true wins over If-Unmodified-Since false; If-None-Match false
        # (the ETag matches) wins over If-Modified-Since true.
        assert call(Bucket="cond", Key="o", IfMatch=etag, IfUnmodifiedSince=before)["ETag"] == etag
        assert refused(lambda: call(Bucket="cond", Key="o", IfNoneMatch=etag,  # noqa: B023
                                    IfModifiedSince=before))[0] == 304
    assert refused(lambda: c.get_object(Bucket="cond", Key="o", IfMatch='"0000"')) == (412, "PreconditionFailed")
    assert c.get_object(Bucket="cond", Key="o", IfMatch="*")["ETag"] == etag
    # If-Range (botocore has no parameter for it): the range only while the object is the one named.
    url = c.generate_presigned_url("get_object", Params={"Bucket": "cond", "Key": "o"}, ExpiresIn=60)
    part = httpx.get(url, headers={"Range": "bytes=0-3", "If-Range": etag})
    assert part.status_code == 206 and part.content == b"0123"
    whole = httpx.get(url, headers={"Range": "bytes=0-3", "If-Range": '"0000"'})
    assert whole.status_code == 200 and whole.content == b"0123456789"


def test_conditional_put(c: Any) -> None:
    bucket(c, "cond-put")
    etag = c.put_object(Bucket="cond-put", Key="o", Body=b"first", IfNoneMatch="*")["ETag"]
    assert refused(lambda: c.put_object(Bucket="cond-put", Key="o", Body=b"second", IfNoneMatch="*")) == \
        (412, "PreconditionFailed")
    assert refused(lambda: c.put_object(Bucket="cond-put", Key="o", Body=b"third", IfMatch='"0000"')) == \
        (412, "PreconditionFailed")
    c.put_object(Bucket="cond-put", Key="o", Body=b"fourth", IfMatch=etag)
    assert c.get_object(Bucket="cond-put", Key="o")["Body"].read() == b"fourth"


def test_copy_source_conditions(c: Any) -> None:
    bucket(c, "cond-copy")
    etag = c.put_object(Bucket="cond-copy", Key="src", Body=b"x" * 10)["ETag"]
    lm = c.head_object(Bucket="cond-copy", Key="src")["LastModified"]
    before, after = lm - timedelta(days=1), lm + timedelta(days=1)
    src = "cond-copy/src"
    bad: list[dict[str, Any]] = [{"CopySourceIfMatch": '"0000"'}, {"CopySourceIfNoneMatch": etag},
                                 {"CopySourceIfModifiedSince": after}, {"CopySourceIfUnmodifiedSince": before},
                                 {"CopySourceIfNoneMatch": etag, "CopySourceIfModifiedSince": before}]
    for kw in bad:
        assert refused(lambda: c.copy_object(Bucket="cond-copy", Key="dst", CopySource=src, **kw)) == \
            (412, "PreconditionFailed"), kw  # noqa: B023
    with pytest.raises(ClientError):
        c.head_object(Bucket="cond-copy", Key="dst")
    good: list[dict[str, Any]] = [{"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"0000"'},
                                  {"CopySourceIfModifiedSince": before}, {"CopySourceIfUnmodifiedSince": after},
                                  {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": before}]
    for kw in good:
        c.copy_object(Bucket="cond-copy", Key="dst", CopySource=src, **kw)
    up = c.create_multipart_upload(Bucket="cond-copy", Key="mp")["UploadId"]
    assert refused(lambda: c.upload_part_copy(Bucket="cond-copy", Key="mp", UploadId=up, PartNumber=1,
                                              CopySource=src, CopySourceIfMatch='"0000"')) == \
        (412, "PreconditionFailed")
    c.upload_part_copy(Bucket="cond-copy", Key="mp", UploadId=up, PartNumber=1, CopySource=src,
                       CopySourceIfMatch=etag)
    c.abort_multipart_upload(Bucket="cond-copy", Key="mp", UploadId=up)


# -- keys that are prefixes of keys, folder markers ---------------------------------------------

def test_prefix_keys_and_folder_markers(c: Any) -> None:
    bucket(c, "nesting")
    keys = ["a/b", "a/b/c", "a/", "a/x", "f/", "a/b/"]
    for k in keys:
        c.put_object(Bucket="nesting", Key=k, Body=f"<{k}>".encode())
    for k in keys:
        assert c.get_object(Bucket="nesting", Key=k)["Body"].read() == f"<{k}>".encode(), k
        assert c.head_object(Bucket="nesting", Key=k)["ContentLength"] == len(k) + 2
    assert [o["Key"] for o in c.list_objects_v2(Bucket="nesting")["Contents"]] == sorted(keys)
    r = c.list_objects_v2(Bucket="nesting", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/", "a/b", "a/x"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]
    # Paging by one: a folder marker as the last key of a page does not hide the keys under it.
    seen, token = [], None
    while True:
        kw: dict[str, Any] = {"ContinuationToken": token} if token else {}
        page = c.list_objects_v2(Bucket="nesting", Prefix="a/", Delimiter="/", MaxKeys=1, **kw)
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["a/", "a/b", "a/b/", "a/x"]
    c.delete_object(Bucket="nesting", Key="a/b")
    assert c.get_object(Bucket="nesting", Key="a/b/c")["Body"].read() == b"<a/b/c>"
    c.delete_object(Bucket="nesting", Key="a/")
    assert c.get_object(Bucket="nesting", Key="a/x")["Body"].read() == b"<a/x>"
    assert refused(lambda: c.get_object(Bucket="nesting", Key="a/"))[1] == "NoSuchKey"
    assert sorted(o["Key"] for o in c.list_objects_v2(Bucket="nesting")["Contents"]) == ["a/b/", "a/b/c", "a/x", "f/"]
    assert refused(lambda: c.put_object(Bucket="nesting", Key="a//b", Body=b""))[1] == "InvalidArgument"


def test_local_storage_reads_the_previous_layout(tmp_path: Path) -> None:
    """A data directory written before keys could nest in objects: its files keep reading, and
    keys that would have collided with them can now be written beside them."""
    root = tmp_path / "objects"
    (root / "vod" / "app" / "a").mkdir(parents=True)
    (root / "vod" / "app" / "a" / "b").write_bytes(b"old b")
    (root / "vod" / "app" / "top.mp4").write_bytes(b"old top")
    (root / ".staging").mkdir()
    storage = LocalStorage(root)
    assert b"".join(storage.open("vod", "app/a/b")) == b"old b"
    assert storage.stat("vod", "app/top.mp4").size == 7
    storage.put("vod", "app/a/b/c", io.BytesIO(b"new c"))
    storage.put("vod", "app/a/", io.BytesIO(b"marker"))
    again = LocalStorage(root)
    assert sorted(o.key for o in again.list("vod")) == ["app/a/", "app/a/b", "app/a/b/c", "app/top.mp4"]
    with again.local_path("vod", "app/top.mp4") as path:
        assert path.read_bytes() == b"old top" and path.suffix == ".mp4"
    again.delete("vod", "app/a/b")
    assert b"".join(again.open("vod", "app/a/b/c")) == b"new c"


# -- multipart ----------------------------------------------------------------------------------

def test_list_multipart_uploads(c: Any) -> None:
    bucket(c, "uploads")
    ids = {k: c.create_multipart_upload(Bucket="uploads", Key=k)["UploadId"] for k in ("v/a", "v/b", "w/c")}
    listed = c.list_multipart_uploads(Bucket="uploads")
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == sorted(ids.items())
    assert not listed["IsTruncated"]
    assert [u["Key"] for u in c.list_multipart_uploads(Bucket="uploads", Prefix="v/")["Uploads"]] == ["v/a", "v/b"]
    rolled = c.list_multipart_uploads(Bucket="uploads", Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["v/", "w/"] and "Uploads" not in rolled
    first = c.list_multipart_uploads(Bucket="uploads", MaxUploads=2)
    assert first["IsTruncated"] and [u["Key"] for u in first["Uploads"]] == ["v/a", "v/b"]
    rest = c.list_multipart_uploads(Bucket="uploads", KeyMarker=first["NextKeyMarker"],
                                    UploadIdMarker=first["NextUploadIdMarker"])
    assert [u["Key"] for u in rest["Uploads"]] == ["w/c"] and not rest["IsTruncated"]
    for k, u in ids.items():
        c.abort_multipart_upload(Bucket="uploads", Key=k, UploadId=u)
    assert "Uploads" not in c.list_multipart_uploads(Bucket="uploads")
    c.delete_bucket(Bucket="uploads")


def test_list_parts_pages(c: Any) -> None:
    bucket(c, "parts")
    up = c.create_multipart_upload(Bucket="parts", Key="p")["UploadId"]
    for n in (1, 2, 3):
        c.upload_part(Bucket="parts", Key="p", UploadId=up, PartNumber=n, Body=bytes([n]) * n)
    first = c.list_parts(Bucket="parts", Key="p", UploadId=up, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2] and first["IsTruncated"]
    assert first["NextPartNumberMarker"] == 2 and first["MaxParts"] == 2
    rest = c.list_parts(Bucket="parts", Key="p", UploadId=up, PartNumberMarker=first["NextPartNumberMarker"])
    assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 3)] and not rest["IsTruncated"]
    assert [p["PartNumber"] for p in c.get_paginator("list_parts").paginate(
        Bucket="parts", Key="p", UploadId=up, PaginationConfig={"PageSize": 1}).build_full_result()["Parts"]] == \
        [1, 2, 3]
    c.abort_multipart_upload(Bucket="parts", Key="p", UploadId=up)


def test_complete_rules(c: Any) -> None:
    bucket(c, "complete")
    up = c.create_multipart_upload(Bucket="complete", Key="small")["UploadId"]
    e1 = c.upload_part(Bucket="complete", Key="small", UploadId=up, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = c.upload_part(Bucket="complete", Key="small", UploadId=up, PartNumber=2, Body=b"b" * 100)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
    assert refused(lambda: c.complete_multipart_upload(Bucket="complete", Key="small", UploadId=up,
                                                       MultipartUpload=parts)) == (400, "EntityTooSmall")
    c.abort_multipart_upload(Bucket="complete", Key="small", UploadId=up)
    # Two parts, the first of the minimum size: completing twice answers the same result.
    first, second = b"1" * (5 * MiB), b"22"
    up = c.create_multipart_upload(Bucket="complete", Key="big")["UploadId"]
    e1 = c.upload_part(Bucket="complete", Key="big", UploadId=up, PartNumber=1, Body=first)["ETag"]
    e2 = c.upload_part(Bucket="complete", Key="big", UploadId=up, PartNumber=2, Body=second)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
    done = c.complete_multipart_upload(Bucket="complete", Key="big", UploadId=up, MultipartUpload=parts)
    want = hashlib.md5(bytes.fromhex(e1.strip('"')) + bytes.fromhex(e2.strip('"'))).hexdigest() + "-2"
    assert done["ETag"] == f'"{want}"'
    again = c.complete_multipart_upload(Bucket="complete", Key="big", UploadId=up, MultipartUpload=parts)
    assert again["ETag"] == done["ETag"]
    # partNumber reads: the part's bytes, the number of parts and the multipart ETag.
    p1 = c.get_object(Bucket="complete", Key="big", PartNumber=1)
    assert p1["PartsCount"] == 2 and p1["ContentLength"] == len(first) and p1["ETag"] == done["ETag"]
    assert p1["ContentRange"] == f"bytes 0-{len(first) - 1}/{len(first) + 2}" and p1["Body"].read() == first
    h2 = c.head_object(Bucket="complete", Key="big", PartNumber=2)
    assert h2["PartsCount"] == 2 and h2["ContentLength"] == 2
    assert c.get_object(Bucket="complete", Key="big", PartNumber=2)["Body"].read() == second
    assert refused(lambda: c.get_object(Bucket="complete", Key="big", PartNumber=3)) == (416, "InvalidPartNumber")
    assert refused(lambda: c.get_object(Bucket="complete", Key="big", PartNumber=1, Range="bytes=0-1"))[0] == 400
    # Once the object is replaced, the upload is gone.
    c.put_object(Bucket="complete", Key="big", Body=b"replaced")
    assert refused(lambda: c.complete_multipart_upload(Bucket="complete", Key="big", UploadId=up,
                                                       MultipartUpload=parts)) == (404, "NoSuchUpload")


def test_delete_bucket_after_aborting_its_uploads(c: Any) -> None:
    bucket(c, "unfinished")
    up = c.create_multipart_upload(Bucket="unfinished", Key="k")["UploadId"]
    c.upload_part(Bucket="unfinished", Key="k", UploadId=up, PartNumber=1, Body=b"x" * 10)
    assert refused(lambda: c.delete_bucket(Bucket="unfinished")) == (409, "BucketNotEmpty")
    c.abort_multipart_upload(Bucket="unfinished", Key="k", UploadId=up)
    c.delete_bucket(Bucket="unfinished")
    assert refused(lambda: c.head_bucket(Bucket="unfinished"))[0] == 404


# -- error names, listing edges -----------------------------------------------------------------

def test_unsatisfiable_range_is_invalid_range(c: Any, srv: InProcessServer) -> None:
    bucket(c, "ranges416")
    c.put_object(Bucket="ranges416", Key="o", Body=b"0123456789")
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="ranges416", Key="o", Range="bytes=100-200")
    assert e.value.response["Error"]["Code"] == "InvalidRange"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert headers_of(e.value.response)["content-range"] == "bytes */10"


def test_presigned_expiry_names(c: Any) -> None:
    bucket(c, "expiry")
    c.put_object(Bucket="expiry", Key="o", Body=b"x")

    def fetch(expires: int) -> httpx.Response:
        url = c.generate_presigned_url("get_object", Params={"Bucket": "expiry", "Key": "o"}, ExpiresIn=expires)
        return httpx.get(url)

    assert fetch(604800).status_code == 200
    r = fetch(604801)
    assert r.status_code == 400 and "<Code>AuthorizationQueryParametersError</Code>" in r.text
    r = fetch(0)  # a well-formed URL that has expired as it was made
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text and "expired" in r.text
    r = httpx.get(c.generate_presigned_url("get_object", Params={"Bucket": "expiry", "Key": "o"}, ExpiresIn=60)
                  .replace("X-Amz-Expires=60", "X-Amz-Expires=-60"))
    assert r.status_code == 400 and "non-negative" in r.text


def test_list_objects_v2_edges(c: Any) -> None:
    bucket(c, "v2edges")
    for k in ("a", "b", "c"):
        c.put_object(Bucket="v2edges", Key=k, Body=b"x")
    zero = c.list_objects_v2(Bucket="v2edges", MaxKeys=0)
    assert zero["KeyCount"] == 0 and not zero["IsTruncated"] and "Contents" not in zero
    assert all("Owner" not in o for o in c.list_objects_v2(Bucket="v2edges")["Contents"])
    owned = c.list_objects_v2(Bucket="v2edges", FetchOwner=True)["Contents"]
    assert all(o["Owner"]["ID"] for o in owned)
    after = c.list_objects_v2(Bucket="v2edges", StartAfter="a")
    assert [o["Key"] for o in after["Contents"]] == ["b", "c"] and after["StartAfter"] == "a"
    empty_token = c.list_objects_v2(Bucket="v2edges", ContinuationToken="")
    assert empty_token["ContinuationToken"] == "" and empty_token["KeyCount"] == 3


def test_list_objects_v1_markers(c: Any) -> None:
    bucket(c, "v1marks")
    keys = ["a b+c", "d/1", "d/2", "e", "f/1"]
    for k in keys:
        c.put_object(Bucket="v1marks", Key=k, Body=b"x")
    page = c.list_objects(Bucket="v1marks", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == keys[:2] and page["IsTruncated"] and "NextMarker" not in page
    assert all(o["Owner"]["ID"] for o in page["Contents"])
    rest = c.list_objects(Bucket="v1marks", Marker="d/1")
    assert [o["Key"] for o in rest["Contents"]] == keys[2:] and rest["Marker"] == "d/1"
    delim = c.list_objects(Bucket="v1marks", Delimiter="/", MaxKeys=2)
    assert delim["IsTruncated"] and delim["NextMarker"] == "d/"
    full = c.get_paginator("list_objects").paginate(Bucket="v1marks", Delimiter="/",
                                                     PaginationConfig={"PageSize": 1}).build_full_result()
    assert [o["Key"] for o in full["Contents"]] == ["a b+c", "e"]
    assert [p["Prefix"] for p in full["CommonPrefixes"]] == ["d/", "f/"]
    flat = c.get_paginator("list_objects").paginate(Bucket="v1marks", PaginationConfig={"PageSize": 2})
    assert [o["Key"] for o in flat.build_full_result()["Contents"]] == keys
    # EncodingType=url: botocore asks for it by itself (and decodes, above); asked for explicitly,
    # the caller gets the names encoded.
    encoded = c.list_objects(Bucket="v1marks", EncodingType="url", Prefix="a b")
    assert [o["Key"] for o in encoded["Contents"]] == ["a%20b%2Bc"] and encoded["Prefix"] == "a%20b"
