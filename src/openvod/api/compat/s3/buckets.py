"""Bucket operations (``services.buckets``) as S3 answers them; the app-namespace helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.responses import Response

from openvod.api.compat.s3.common import MP_DIR, XMLNS, S3Error, xml_response
from openvod.domain.views.objects import ObjectView
from openvod.errors import Conflict, InvalidParameter
from openvod.runtime import Context
from openvod.services import buckets as bucket_store
from openvod.services import objects
from openvod.services.media import physical

__all__ = ["bucket_exists", "bucket_location", "create_bucket", "delete_bucket", "missing", "object_row", "phys",
           "require_bucket"]


# -- helpers on the object table -------------------------------------------------------------------

def phys(app_id: str, bucket: str, key: str | None = None) -> tuple[str, str]:
    """The physical (bucket, key) of the app's ``key`` in ``bucket``; without ``key``, the bucket's
    marker key. Raises S3Error for bad names and for keys under the reserved ``.s3mp/``. A key may
    end with one ``/`` (a folder marker, ``photos/``)."""
    try:
        if key is None:
            return physical(app_id, bucket, "x")[0], f"{app_id}/"
        if key == MP_DIR or key.startswith(MP_DIR + "/"):
            raise S3Error(400, "InvalidArgument", f"Keys under {MP_DIR}/ are reserved.")
        if key.endswith("/") and key != "/":
            pb, pk = physical(app_id, bucket, key[:-1])
            return pb, pk + "/"
        return physical(app_id, bucket, key)
    except InvalidParameter as exc:
        if "Bucket" in exc.code:
            raise S3Error(400, "InvalidBucketName", str(exc)) from exc
        raise S3Error(400, "InvalidArgument", str(exc)) from exc


def bucket_exists(ctx: Context, app_id: str, bucket: str) -> bool:
    """Whether the app holds any row (the marker or an object) in ``bucket``."""
    return bucket_store.bucket_exists(ctx, app_id, bucket)


def require_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    """Raise S3Error NoSuchBucket unless the app has ``bucket``."""
    phys(app_id, bucket)
    if not bucket_exists(ctx, app_id, bucket):
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")


def missing(ctx: Context, app_id: str, bucket: str) -> S3Error:
    """The error for an object that is not there: NoSuchBucket, or NoSuchKey in a bucket that is."""
    if not bucket_exists(ctx, app_id, bucket):
        return S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
    return S3Error(404, "NoSuchKey", "The specified key does not exist.")


def object_row(ctx: Context, app_id: str, pb: str, pk: str) -> ObjectView | None:
    """The app's row of the physical (pb, pk), if any."""
    return objects.find_object(ctx, app_id, pb, pk)


# -- operations ------------------------------------------------------------------------------------

def create_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    pb, _marker = phys(app_id, bucket)
    if bucket_exists(ctx, app_id, bucket):
        raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                      "and you already own it.")
    bucket_store.create_bucket(ctx, app_id, pb)
    return Response(status_code=200, headers={"Location": f"/{bucket}"})


def head_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    require_bucket(ctx, app_id, bucket)
    return Response(status_code=200)


def bucket_location(ctx: Context, app_id: str, bucket: str) -> Response:
    """GetBucketLocation: an empty constraint (us-east-1), whatever the gateway's signing region."""
    require_bucket(ctx, app_id, bucket)
    return xml_response(ET.Element("LocationConstraint", xmlns=XMLNS))


def delete_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    """DeleteBucket: 409 BucketNotEmpty while it holds objects or unfinished multipart uploads
    (abort them first, as ``ListMultipartUploads`` lists them)."""
    require_bucket(ctx, app_id, bucket)
    try:
        bucket_store.delete_bucket(ctx, app_id, bucket)
    except Conflict as exc:
        raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty (objects, or multipart "
                      "uploads not completed nor aborted)") from exc
    return Response(status_code=204)
