"""The S3-compatible gateway under /s3, driven with boto3."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server, make_app_server

MiB = 1 << 20


@pytest.fixture(scope="module")
def s3srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("s3gw"), {"OPENVOD_WORKERS": "1"})
    try:
        yield s
    finally:
        s.stop()


def s3(srv: Server, secret_id: str | None = None, secret_key: str | None = None) -> Any:
    return boto3.client(
        "s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
        aws_access_key_id=secret_id or srv.secret_id, aws_secret_access_key=secret_key or srv.secret_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1}),
    )


def code_of(fn: Any) -> str:
    with pytest.raises(ClientError) as e:
        fn()
    return str(e.value.response["Error"]["Code"])


def test_bucket_lifecycle(s3srv: Server) -> None:
    c = s3(s3srv)
    assert code_of(lambda: c.head_bucket(Bucket="life")) == "404"
    c.create_bucket(Bucket="life")
    c.head_bucket(Bucket="life")
    assert "life" in [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert code_of(lambda: c.create_bucket(Bucket="life")) == "BucketAlreadyOwnedByYou"
    c.put_object(Bucket="life", Key="x.txt", Body=b"x")
    assert code_of(lambda: c.delete_bucket(Bucket="life")) == "BucketNotEmpty"
    c.delete_object(Bucket="life", Key="x.txt")
    c.delete_bucket(Bucket="life")
    assert code_of(lambda: c.head_bucket(Bucket="life")) == "404"
    assert code_of(lambda: c.put_object(Bucket="life", Key="y", Body=b"y")) == "NoSuchBucket"
    assert code_of(lambda: c.create_bucket(Bucket="Bad_Name")) == "InvalidBucketName"


def test_put_get_head_delete_and_ranges(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="objs")
    data = bytes(range(256)) * 40
    put = c.put_object(Bucket="objs", Key="dir/a b.bin", Body=data, ContentType="application/x-test")
    got = c.get_object(Bucket="objs", Key="dir/a b.bin")
    assert got["Body"].read() == data and got["ETag"] == put["ETag"]
    assert got["ContentType"] == "application/x-test"
    head = c.head_object(Bucket="objs", Key="dir/a b.bin")
    assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]
    part = c.get_object(Bucket="objs", Key="dir/a b.bin", Range="bytes=100-199")
    assert part["Body"].read() == data[100:200] and part["ContentRange"] == f"bytes 100-199/{len(data)}"
    tail = c.get_object(Bucket="objs", Key="dir/a b.bin", Range="bytes=-10")["Body"].read()
    assert tail == data[-10:]
    # A file object body (streamed, possibly aws-chunked) and an empty object.
    c.upload_fileobj(io.BytesIO(data * 3), "objs", "stream.bin")
    assert c.get_object(Bucket="objs", Key="stream.bin")["Body"].read() == data * 3
    c.put_object(Bucket="objs", Key="empty", Body=b"")
    assert c.get_object(Bucket="objs", Key="empty")["Body"].read() == b""
    c.delete_object(Bucket="objs", Key="dir/a b.bin")
    assert code_of(lambda: c.get_object(Bucket="objs", Key="dir/a b.bin")) == "NoSuchKey"
    assert code_of(lambda: c.head_object(Bucket="objs", Key="dir/a b.bin")) == "404"
    assert code_of(lambda: c.get_object(Bucket="nobucket", Key="k")) == "NoSuchBucket"


def test_copy_object(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="copy-src")
    c.create_bucket(Bucket="copy-dst")
    data = bytes(range(256)) * 100
    put = c.put_object(Bucket="copy-src", Key="dir/a b+c.bin", Body=data, ContentType="video/mp4")
    r = c.copy_object(Bucket="copy-dst", Key="copied.bin", CopySource={"Bucket": "copy-src", "Key": "dir/a b+c.bin"})
    assert r["CopyObjectResult"]["ETag"] == put["ETag"]
    got = c.get_object(Bucket="copy-dst", Key="copied.bin")
    assert got["Body"].read() == data and got["ContentType"] == "video/mp4"
    # REPLACE takes the new content type, also in place; a plain copy onto itself is refused.
    c.copy_object(Bucket="copy-src", Key="dir/a b+c.bin", CopySource="copy-src/dir/a b+c.bin",
                  MetadataDirective="REPLACE", ContentType="application/x-test")
    assert c.head_object(Bucket="copy-src", Key="dir/a b+c.bin")["ContentType"] == "application/x-test"
    assert code_of(lambda: c.copy_object(Bucket="copy-src", Key="dir/a b+c.bin",
                                         CopySource="copy-src/dir/a b+c.bin")) == "InvalidRequest"
    # boto3's managed copy: CopyObject when small, UploadPartCopy of byte ranges when big.
    c.copy({"Bucket": "copy-src", "Key": "dir/a b+c.bin"}, "copy-dst", "managed.bin")
    assert c.get_object(Bucket="copy-dst", Key="managed.bin")["Body"].read() == data
    big = os.urandom(11 * MiB)
    c.put_object(Bucket="copy-src", Key="big.bin", Body=big)
    c.copy({"Bucket": "copy-src", "Key": "big.bin"}, "copy-dst", "big-copy.bin",
           Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    assert c.get_object(Bucket="copy-dst", Key="big-copy.bin")["Body"].read() == big
    up = c.create_multipart_upload(Bucket="copy-dst", Key="ranged")["UploadId"]
    assert code_of(lambda: c.upload_part_copy(Bucket="copy-dst", Key="ranged", UploadId=up, PartNumber=1,
                                              CopySource="copy-src/big.bin",
                                              CopySourceRange=f"bytes=0-{len(big)}")) == "InvalidArgument"
    c.abort_multipart_upload(Bucket="copy-dst", Key="ranged", UploadId=up)
    assert code_of(lambda: c.copy_object(Bucket="copy-dst", Key="x", CopySource="copy-src/missing")) == "NoSuchKey"
    assert code_of(lambda: c.copy_object(Bucket="copy-dst", Key="x", CopySource="nobucket/k")) == "NoSuchBucket"
    assert code_of(lambda: c.copy_object(Bucket="copy-dst", Key="x",
                                         CopySource="copy-src/../../etc/passwd")) == "InvalidArgument"


def test_error_is_s3_xml(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="xmlerr")
    url = c.generate_presigned_url("get_object", Params={"Bucket": "xmlerr", "Key": "missing"}, ExpiresIn=60)
    r = httpx.get(url)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/xml")
    assert "<Code>NoSuchKey</Code>" in r.text and "<RequestId>" in r.text
    r = httpx.get(f"{s3srv.url}/s3/xmlerr/missing")
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text


def test_list_objects_v2(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="listing")
    keys = [f"a/{i:02d}.txt" for i in range(7)] + ["a/sub/x.txt", "a/sub/y.txt", "b/z.txt", "top.txt"]
    for k in keys:
        c.put_object(Bucket="listing", Key=k, Body=k.encode())
    r = c.list_objects_v2(Bucket="listing")
    assert [o["Key"] for o in r["Contents"]] == sorted(keys) and r["KeyCount"] == len(keys)
    r = c.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in r["Contents"]] == ["top.txt"]
    r = c.list_objects_v2(Bucket="listing", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == [f"a/{i:02d}.txt" for i in range(7)]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/sub/"]
    # Pagination with max-keys, with and without a delimiter.
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": "listing", "MaxKeys": 3}
    while True:
        r = c.list_objects_v2(**kwargs)
        seen += [o["Key"] for o in r.get("Contents", [])]
        assert r["KeyCount"] <= 3
        if not r["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = r["NextContinuationToken"]
    assert seen == sorted(keys)
    pages = c.get_paginator("list_objects_v2").paginate(Bucket="listing", Delimiter="/", Prefix="a/",
                                                        PaginationConfig={"PageSize": 2})
    got_keys, got_prefixes = [], []
    for page in pages:
        got_keys += [o["Key"] for o in page.get("Contents", [])]
        got_prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert got_keys == [f"a/{i:02d}.txt" for i in range(7)] and got_prefixes == ["a/sub/"]


def test_multipart(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="multi")
    parts = [bytes([65 + i]) * (5 * MiB + i) for i in range(3)]
    up = c.create_multipart_upload(Bucket="multi", Key="big/file.bin", ContentType="video/mp4")
    uid = up["UploadId"]
    etags = []
    for n, body in enumerate(parts, 1):
        etags.append(c.upload_part(Bucket="multi", Key="big/file.bin", UploadId=uid, PartNumber=n,
                                   Body=body)["ETag"])
    listed = c.list_parts(Bucket="multi", Key="big/file.bin", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(n, len(b)) for n, b in enumerate(parts, 1)]
    # Parts in progress are not objects.
    assert c.list_objects_v2(Bucket="multi")["KeyCount"] == 0
    done = c.complete_multipart_upload(
        Bucket="multi", Key="big/file.bin", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    assert done["ETag"].endswith('-3"')
    got = c.get_object(Bucket="multi", Key="big/file.bin")
    assert got["ContentLength"] == sum(map(len, parts)) and got["ContentType"] == "video/mp4"
    assert got["Body"].read() == b"".join(parts)
    assert [o["Key"] for o in c.list_objects_v2(Bucket="multi")["Contents"]] == ["big/file.bin"]
    assert code_of(lambda: c.list_parts(Bucket="multi", Key="big/file.bin", UploadId=uid)) == "NoSuchUpload"
    # Abort drops the parts.
    uid2 = c.create_multipart_upload(Bucket="multi", Key="gone.bin")["UploadId"]
    c.upload_part(Bucket="multi", Key="gone.bin", UploadId=uid2, PartNumber=1, Body=b"x" * 10)
    c.abort_multipart_upload(Bucket="multi", Key="gone.bin", UploadId=uid2)
    assert code_of(lambda: c.list_parts(Bucket="multi", Key="gone.bin", UploadId=uid2)) == "NoSuchUpload"
    assert code_of(lambda: c.head_object(Bucket="multi", Key="gone.bin")) == "404"
    # The managed transfer (concurrent parts) also works.
    blob = b"0123456789abcdef" * (MiB // 2)  # 8 MiB
    c.upload_fileobj(io.BytesIO(blob), "multi", "managed.bin",
                     Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MiB,
                                                             multipart_chunksize=5 * MiB))
    assert c.get_object(Bucket="multi", Key="managed.bin")["Body"].read() == blob


def test_presigned_get_and_put(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="presign")
    put_url = c.generate_presigned_url("put_object", Params={"Bucket": "presign", "Key": "p/x.bin"}, ExpiresIn=60)
    r = httpx.put(put_url, content=b"presigned body")
    assert r.status_code == 200, r.text
    get_url = c.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "p/x.bin"}, ExpiresIn=60)
    r = httpx.get(get_url)
    assert r.status_code == 200 and r.content == b"presigned body"
    r = httpx.get(get_url, headers={"Range": "bytes=0-8"})
    assert r.status_code == 206 and r.content == b"presigned"
    tampered = get_url.replace("p/x.bin", "p/y.bin")
    r = httpx.get(tampered)
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text
    expired = c.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "p/x.bin"}, ExpiresIn=1)
    time.sleep(2.1)
    assert httpx.get(expired).status_code == 403


def test_wrong_credentials(s3srv: Server) -> None:
    assert code_of(lambda: s3(s3srv, secret_key="wrong" * 6).list_buckets()) == "SignatureDoesNotMatch"
    assert code_of(lambda: s3(s3srv, secret_id="AKIDnobody", secret_key="x").list_buckets()) == "InvalidAccessKeyId"


def test_other_app_is_isolated(s3srv: Server) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="private")
    c.put_object(Bucket="private", Key="secret.txt", Body=b"mine")
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", "s3other", "--json"],
                         env=s3srv.env, capture_output=True, text=True, check=True).stdout
    other = json.loads(out[out.index("{"):])
    o = s3(s3srv, other["secret_id"], other["secret_key"])
    assert "private" not in [b["Name"] for b in o.list_buckets()["Buckets"]]
    assert code_of(lambda: o.head_bucket(Bucket="private")) == "404"
    assert code_of(lambda: o.get_object(Bucket="private", Key="secret.txt")) == "NoSuchBucket"
    # Same bucket name, separate namespace.
    o.create_bucket(Bucket="private")
    assert o.list_objects_v2(Bucket="private")["KeyCount"] == 0
    assert code_of(lambda: o.get_object(Bucket="private", Key="secret.txt")) == "NoSuchKey"
    # Nor can the other app copy it out: a copy source is read in the caller's own namespace.
    assert code_of(lambda: o.copy_object(Bucket="private", Key="stolen", CopySource="private/secret.txt")) == \
        "NoSuchKey"
    o.put_object(Bucket="private", Key="secret.txt", Body=b"theirs")
    assert c.get_object(Bucket="private", Key="secret.txt")["Body"].read() == b"mine"
    assert o.get_object(Bucket="private", Key="secret.txt")["Body"].read() == b"theirs"


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "a//b", ".s3mp/x", "./a"])
def test_traversal_keys_refused(s3srv: Server, key: str) -> None:
    c = s3(s3srv)
    try:
        c.create_bucket(Bucket="trav")
    except ClientError:
        pass
    assert code_of(lambda: c.put_object(Bucket="trav", Key=key, Body=b"x")) == "InvalidArgument"


def test_traversal_raw_path_refused(s3srv: Server) -> None:
    c = s3(s3srv)
    try:
        c.create_bucket(Bucket="trav")
    except ClientError:
        pass
    url = c.generate_presigned_url("get_object", Params={"Bucket": "trav", "Key": "a/%2e%2e/%2e%2e/etc"},
                                   ExpiresIn=60)
    r = httpx.get(url)
    assert r.status_code in (400, 403, 404) and b"root:" not in r.content


def test_s3_object_as_transcode_source(s3srv: Server, small_clip: Path) -> None:
    c = s3(s3srv)
    c.create_bucket(Bucket="media")
    c.upload_file(str(small_clip), "media", "in/clip.mp4")
    with s3srv.client() as h:
        r = h.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"path": "/media/in/clip.mp4"}]})
        assert r.status_code == 201, r.text
        tid = r.json()["task_id"]
        deadline = time.monotonic() + 120
        while True:
            t = h.get(f"/v1/tasks/{tid}/wait", params={"timeout": 10}).json()
            if t["state"] in ("succ", "fail") or time.monotonic() > deadline:
                break
        assert t["state"] == "succ", t
    out = t["output"]
    got = c.get_object(Bucket=out["bucket"], Key=out["key"])
    body = got["Body"].read()
    assert len(body) == out["size"] > 0
    assert body[4:8] == b"ftyp"


def _hm(key: bytes, msg: str) -> bytes:
    import hashlib
    import hmac

    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _chunked_put(srv: Server, path: str, chunks: list[bytes], mode: str, *, bad_chunk: bool = False,
                 secret_key: str | None = None) -> httpx.Response:
    """A PUT with an aws-chunked body, signed as the AWS SDKs for Java/Go/JS sign it."""
    import hashlib
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/us-east-1/s3/aws4_request"
    decoded = sum(map(len, chunks))
    host = f"127.0.0.1:{srv.port}"
    headers = {"host": host, "x-amz-content-sha256": mode, "x-amz-date": amz_date,
               "x-amz-decoded-content-length": str(decoded), "content-encoding": "aws-chunked"}
    signed = sorted(headers)
    creq = "\n".join(["PUT", path, "", "".join(f"{h}:{headers[h]}\n" for h in signed), ";".join(signed), mode])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hm(("AWS4" + (secret_key or srv.secret_key)).encode(), date)
    for part in ("us-east-1", "s3", "aws4_request"):
        k = _hm(k, part)
    import hmac as _hmac

    seed = _hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    body, prev = bytearray(), seed
    empty = hashlib.sha256(b"").hexdigest()
    for i, data in enumerate([*chunks, b""]):
        if mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
            csts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                              hashlib.sha256(data).hexdigest()])
            prev = _hmac.new(k, csts.encode(), hashlib.sha256).hexdigest()
            sig = ("0" * 64) if (bad_chunk and i == 1) else prev
            body += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
        else:
            body += f"{len(data):x}\r\n".encode() + data + (b"\r\n" if data else b"")
    if mode != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
        body += b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    auth = f"AWS4-HMAC-SHA256 Credential={srv.secret_id}/{scope}, SignedHeaders={';'.join(signed)}, Signature={seed}"
    send = {k: v for k, v in headers.items() if k != "host"}
    return httpx.put(f"{srv.url}{path}", content=bytes(body), headers={**send, "Authorization": auth})


@pytest.mark.parametrize("mode", ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
def test_aws_chunked_bodies(s3srv: Server, mode: str) -> None:
    c = s3(s3srv)
    try:
        c.create_bucket(Bucket="chunked")
    except ClientError:
        pass
    chunks = [b"a" * 65536, b"b" * 65536, b"tail"]
    r = _chunked_put(s3srv, "/s3/chunked/obj.bin", chunks, mode)
    assert r.status_code == 200, r.text
    assert c.get_object(Bucket="chunked", Key="obj.bin")["Body"].read() == b"".join(chunks)
    if mode.startswith("STREAMING-AWS4"):
        r = _chunked_put(s3srv, "/s3/chunked/bad.bin", chunks, mode, bad_chunk=True)
        assert r.status_code == 403 and "SignatureDoesNotMatch" in r.text
        assert code_of(lambda: c.head_object(Bucket="chunked", Key="bad.bin")) == "404"
