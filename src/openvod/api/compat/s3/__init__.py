"""An S3-compatible object gateway under ``/s3`` (path-style addressing, SigV4 service ``s3``),
and the same operations for Tencent COS (Host-addressed, ``q-sign-algorithm=sha1``).

Use: mount ``router`` on the app and wrap the app in ``CosGateway`` (see ``api/app.py``).

Layout:

* ``gateway``: the ``/s3`` router; the table routing a request to its operation (and refusing,
  501 NotImplemented, the sub-resources and headers it does not implement); errors to S3 XML.
* ``auth``: SigV4 verification (header or presigned URL) and API-key lookup.
* ``bodies``: request bodies, checked and streamed into the store; Content-MD5 / x-amz-checksum-*.
* ``buckets``: bucket operations; the app-namespace helpers on the ``object`` table.
* ``listing``: ListBuckets, ListObjects (V1) and ListObjectsV2.
* ``reading``: GetObject/HeadObject (conditionals, ranges, parts, overrides, content safety).
* ``objects``: PutObject's checks, CopyObject, UploadPartCopy, DeleteObject, DeleteObjects.
* ``multipart``: create, list uploads and parts, complete and abort multipart uploads.
* ``metadata``: Content-Type, standard headers and ``x-amz-meta-*`` kept in the row's ``info["s3"]``.
* ``conditions``: If-* and x-amz-copy-source-if-* with S3's precedence; conditional writes.
* ``cos``: the COS Host-addressed front (``CosGateway``) and its sha1 signature.
* ``common``: ``S3Error``, XML helpers, reserved names.

Design:

* Namespaces: every app has its own buckets. A logical (bucket, key) of the app is stored at the
  physical ``(bucket, f"{app_id}/{key}")`` (``services.media.physical``), so two apps may use the
  same bucket name without seeing each other's objects.
* Buckets: an app's bucket exists when the ``object`` table holds a row of that app in that bucket:
  either the marker row CreateBucket writes (role ``bucket``, key ``{app_id}/``, size 0, nothing
  in storage) or any object (so buckets the native API writes to, e.g. ``vod``, are visible too).
  DeleteBucket removes the marker and refuses (409 BucketNotEmpty) while any other row remains.
* Objects are listed from the ``object`` table (every stored byte is registered there); PutObject
  registers role ``upload`` with the MD5 of the bytes as ETag, and its metadata in ``info["s3"]``.
  Keys may be prefixes of other keys (``a/b`` beside ``a/b/c``) or end with ``/`` (folder markers).
* Bodies are streamed into the store through its resumable-append API (never whole in memory):
  plain bodies with a hex SHA-256 (checked at the end), ``UNSIGNED-PAYLOAD``, and ``aws-chunked``
  bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` with every chunk signature verified, and
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``).
* Multipart uploads: the upload is a row (role ``s3-multipart``, key ``{app_id}/.s3mp/{id}``, the
  target key and metadata in ``info``); each part is a temporary object at
  ``{app_id}/.s3mp/{id}/{part:05d}`` (role ``s3-part``). Complete concatenates the listed parts
  into the target with an append write, then deletes the parts. Keys under ``.s3mp/`` are
  reserved and hidden from listings.
* Errors are S3 XML ``<Error>`` documents with S3's codes and statuses.
"""

from openvod.api.compat.s3.cos import CosGateway
from openvod.api.compat.s3.gateway import router

__all__ = ["CosGateway", "router"]
