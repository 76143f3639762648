"""Request bodies: plain (SHA-256 checked), unsigned, or aws-chunked (chunk signatures checked);
the integrity headers of small bodies (``Content-MD5``, ``x-amz-checksum-*``)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import zlib
from collections.abc import AsyncIterator, Callable, Mapping

import anyio
from fastapi import Request

from openvod.api.compat.s3.auth import Auth
from openvod.api.compat.s3.common import S3Error
from openvod.auth import sigv4
from openvod.runtime import Context
from openvod.services import metrics
from openvod.storage.base import ObjectStat

__all__ = ["check_integrity", "small_body", "store"]

MAX_XML_BODY = 1 << 20
MAX_CHUNK = 16 << 20  # SDKs send aws-chunked chunks of 8-64 KiB; a chunk is held whole while checked
_CHUNK_SIZE = re.compile(r"[0-9a-fA-F]{1,8}", re.ASCII)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_FLUSH = 1 << 20


async def _decoded_body(request: Request, auth: Auth) -> AsyncIterator[bytes]:
    """The request body as stored bytes: aws-chunked framing removed and checked."""
    mode = auth.payload
    if not mode.startswith("STREAMING-"):
        sha = hashlib.sha256() if len(mode) == 64 else None
        async for chunk in request.stream():
            if sha is not None:
                sha.update(chunk)
            if chunk:
                yield chunk
        if sha is not None and not hmac.compare_digest(sha.hexdigest(), mode):
            raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does "
                          "not match what was computed.")
        return
    signed = mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    if mode not in ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
        raise S3Error(400, "InvalidArgument", f"x-amz-content-sha256 {mode} is not supported.")
    key = sigv4.signing_key(auth.secret_key, auth.date, auth.region, "s3")
    scope = f"{auth.date}/{auth.region}/s3/aws4_request"
    prev = auth.signature
    buf = bytearray()
    stream = request.stream()

    async def fill(n: int) -> bool:
        while len(buf) < n:
            try:
                buf.extend(await stream.__anext__())
            except StopAsyncIteration:
                return False
        return True

    async def line() -> bytes:
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                out = bytes(buf[:i])
                del buf[: i + 2]
                return out
            if len(buf) > 4096 or not await fill(len(buf) + 1):
                raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.")

    while True:
        head = (await line()).decode("latin-1")
        size_hex, _, ext = head.partition(";")
        if _CHUNK_SIZE.fullmatch(size_hex.strip()) is None:
            raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.")
        size = int(size_hex.strip(), 16)
        if size > MAX_CHUNK:
            raise S3Error(400, "InvalidChunkSizeError", f"An aws-chunked chunk is over {MAX_CHUNK} bytes.")
        if not await fill(size):
            raise S3Error(400, "IncompleteBody", "The aws-chunked body ended early.")
        data = bytes(buf[:size])
        del buf[:size]
        if signed:
            name, _, sig = ext.partition("=")
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", auth.amz_date, scope, prev, EMPTY_SHA256,
                             hashlib.sha256(data).hexdigest()])
            want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            if name.strip() != "chunk-signature" or not sigv4.signatures_equal(want, sig.strip()):
                raise S3Error(403, "SignatureDoesNotMatch", "A chunk signature does not match.")
            prev = want
        if size == 0:
            break  # trailers (if any) follow; they are not stored
        if data:
            yield data
        if not await fill(2) or bytes(buf[:2]) != b"\r\n":
            raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.")
        del buf[:2]


async def small_body(request: Request, auth: Auth) -> bytes:
    """The whole (checked) body, refused past 1 MiB: for XML documents and bodies that must be drained."""
    out = bytearray()
    async for chunk in _decoded_body(request, auth):
        out.extend(chunk)
        if len(out) > MAX_XML_BODY:
            raise S3Error(400, "MaxMessageLengthExceeded", "The request body is too large.")
    return bytes(out)


async def store(ctx: Context, request: Request, auth: Auth, pb: str, pk: str, content_type: str) -> ObjectStat:
    """Stream the body into (pb, pk); returns its stat with the MD5 of the bytes as ETag."""
    md5 = hashlib.md5(usedforsecurity=False)
    storage = ctx.storage
    handle = await anyio.to_thread.run_sync(storage.begin_append, pb, pk)
    done = False
    try:
        writer = await anyio.to_thread.run_sync(storage.open_append, handle)
        try:
            pending = bytearray()
            async for chunk in _decoded_body(request, auth):
                metrics.count_upload_bytes("s3", len(chunk))
                md5.update(chunk)
                pending.extend(chunk)
                if len(pending) >= _FLUSH:
                    await anyio.to_thread.run_sync(writer.write, bytes(pending))
                    pending.clear()
            if pending:
                await anyio.to_thread.run_sync(writer.write, bytes(pending))
            await anyio.to_thread.run_sync(writer.commit)
        finally:
            await anyio.to_thread.run_sync(writer.close)
        want_md5 = request.headers.get("content-md5")
        if want_md5:
            try:
                ok = base64.b64decode(want_md5, validate=True) == md5.digest()
            except ValueError:  # binascii.Error, or a header that is not ASCII
                ok = False
            if not ok:
                raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        stat = await anyio.to_thread.run_sync(lambda: storage.finish_append(handle, content_type=content_type))
        done = True
    finally:
        if not done:
            await anyio.to_thread.run_sync(storage.abort_append, handle)
    return dataclasses.replace(stat, etag=md5.hexdigest(), content_type=content_type)


def _crc_table(poly: int) -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


def _reflected_crc(poly: int, width: int) -> Callable[[bytes], bytes]:
    """A reflected CRC with all-ones init and final xor (CRC-32C, CRC-64/NVME), big-endian digest;
    pure Python, for the bounded bodies :func:`check_integrity` sees."""
    table, mask = _crc_table(poly), (1 << width) - 1

    def digest(data: bytes) -> bytes:
        c = mask
        for b in data:
            c = table[(c ^ b) & 0xFF] ^ (c >> 8)
        return (c ^ mask).to_bytes(width // 8, "big")
    return digest


_CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "x-amz-checksum-crc32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "x-amz-checksum-crc32c": _reflected_crc(0x82F63B78, 32),
    "x-amz-checksum-crc64nvme": _reflected_crc(0x9A6C9329AC4BC9B5, 64),
    "x-amz-checksum-sha1": lambda d: hashlib.sha1(d, usedforsecurity=False).digest(),
    "x-amz-checksum-sha256": lambda d: hashlib.sha256(d).digest(),
}


def check_integrity(headers: Mapping[str, str], body: bytes, *, required: bool) -> None:
    """Check a small body against its ``Content-MD5`` and ``x-amz-checksum-*`` headers (400
    BadDigest on a mismatch); with ``required`` (DeleteObjects), 400 InvalidRequest when it has none."""
    given = [name for name in _CHECKSUMS if name in headers]
    md5 = headers.get("content-md5")
    if required and md5 is None and not given:
        raise S3Error(400, "InvalidRequest", "Missing required header for this request: Content-MD5 (or an "
                      "x-amz-checksum-* header).")
    wanted = [("content-md5", hashlib.md5(body, usedforsecurity=False).digest())] if md5 is not None else []
    wanted += [(name, _CHECKSUMS[name](body)) for name in given]
    for name, digest in wanted:
        try:
            ok = base64.b64decode(headers[name], validate=True) == digest
        except ValueError:  # binascii.Error, or a header that is not ASCII
            ok = False
        if not ok:
            raise S3Error(400, "BadDigest", f"The {name} you specified did not match the calculated checksum.")
