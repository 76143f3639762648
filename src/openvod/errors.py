"""The one exception tree of OpenVOD.

Every failure a user can see is an :class:`OpenVODError` with a stable ``code`` (Tencent-style
``Family.Detail``) and a message that names what failed and on which resource. Transports render
the same error in their own envelope; the native API uses ``{"error": {"code", "message"}}`` with
``status`` as the HTTP status.

    OpenVODError
    ├── InvalidParameter        400  bad input (InvalidParameter.*)
    ├── AuthFailure             401  missing/wrong credentials or signatures (AuthFailure.*)
    ├── Forbidden               403  authenticated but not allowed
    ├── NotFound                404  ResourceNotFound.*
    ├── Conflict                409  state does not allow the operation
    ├── PayloadTooLarge         413
    ├── TooManyRequests         429  rate or per-app quota exceeded (RequestLimitExceeded.*)
    ├── MediaError              422  FFmpeg/probe failures (FFmpegFailed, FFmpegTimeout, ProbeFailed)
    ├── StorageError            503  object storage failures
    │   └── InsufficientStorage 507  the disk or bucket is full (ResourceUnavailable.InsufficientStorage)
    ├── Unimplemented           501  a protocol operation OpenVOD does not implement
    ├── UpstreamError           502  a remote server (pull upload) failed
    ├── Cancelled               500  work stopped because its task was cancelled (FailedOperation.Canceled);
    │                                the engine catches it, no user sees it as an error
    └── ProtocolError           4xx/5xx  an error already in one wire protocol's terms (its code and
        │                                status set per instance), raised and rendered only by its transport
        ├── S3Error                  (api.compat.s3.common) an S3 ``<Error>`` document: NoSuchKey, AccessDenied...
        └── KingsoftError            (api.compat.kingsoft) Kingsoft's ``{"Error": {"Code", "Message"}}`` reply

Signature verifiers (:mod:`openvod.auth.sigv4`, :mod:`~openvod.auth.tc3`, :mod:`~openvod.auth.cos`)
raise :class:`AuthFailure` with a code of :mod:`openvod.auth.codes`; each transport maps the code to
its envelope at its edge (Tencent's codes are the codes themselves; S3 and Kingsoft translate them
to a :class:`ProtocolError` subclass). One exception type per envelope, mapped at the edge.
"""

from __future__ import annotations

__all__ = [
    "AuthFailure",
    "Cancelled",
    "Conflict",
    "FFmpegFailed",
    "FFmpegTimeout",
    "Forbidden",
    "InsufficientStorage",
    "InvalidParameter",
    "MediaError",
    "NotFound",
    "Unimplemented",
    "OpenVODError",
    "PayloadTooLarge",
    "ProbeFailed",
    "ProtocolError",
    "StorageError",
    "TooManyRequests",
    "UpstreamError",
]


class OpenVODError(Exception):
    """Base of every error OpenVOD reports to a user."""

    status: int = 500
    default_code: str = "InternalError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidParameter(OpenVODError):
    status = 400
    default_code = "InvalidParameter"


class AuthFailure(OpenVODError):
    status = 401
    default_code = "AuthFailure"


class Forbidden(OpenVODError):
    status = 403
    default_code = "AuthFailure.Forbidden"


class NotFound(OpenVODError):
    status = 404
    default_code = "ResourceNotFound"


class Conflict(OpenVODError):
    status = 409
    default_code = "FailedOperation.Conflict"


class PayloadTooLarge(OpenVODError):
    status = 413
    default_code = "InvalidParameter.TooLarge"


class TooManyRequests(OpenVODError):
    status = 429
    default_code = "RequestLimitExceeded"


class MediaError(OpenVODError):
    status = 422
    default_code = "FailedOperation.Media"


class ProbeFailed(MediaError):
    default_code = "FailedOperation.ProbeFailed"


class FFmpegFailed(MediaError):
    """FFmpeg exited non-zero. Carries argv, exit code and the stderr tail for operators."""

    default_code = "FailedOperation.FFmpegFailed"

    def __init__(self, message: str, *, argv: list[str], returncode: int, stderr_tail: str) -> None:
        super().__init__(message)
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class FFmpegTimeout(MediaError):
    default_code = "FailedOperation.FFmpegTimeout"


class StorageError(OpenVODError):
    status = 503
    default_code = "InternalError.Storage"


class InsufficientStorage(StorageError):
    """No space left (ENOSPC) in object storage, the upload spool or the database."""

    status = 507
    default_code = "ResourceUnavailable.InsufficientStorage"


class Unimplemented(OpenVODError):
    status = 501
    default_code = "UnsupportedOperation.NotImplemented"


class UpstreamError(OpenVODError):
    status = 502
    default_code = "FailedOperation.Upstream"


class Cancelled(OpenVODError):
    """Work (FFmpeg, a job step) was stopped because the caller's cancel event was set."""

    default_code = "FailedOperation.Canceled"


class ProtocolError(OpenVODError):
    """An error in one wire protocol's own terms: ``code`` is the protocol's error name and
    ``status`` the HTTP status, both per instance. Only its transport raises and renders it; a
    subclass per envelope (``S3Error``, ``KingsoftError``) lives beside its renderer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status
