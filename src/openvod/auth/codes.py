"""The codes of :class:`openvod.errors.AuthFailure` that the signature verifiers raise.

One verifier per scheme (:mod:`~openvod.auth.sigv4`, :mod:`~openvod.auth.tc3`,
:mod:`~openvod.auth.cos`) raises ``AuthFailure(message, code=...)`` with one of these codes; each
transport maps the code to its own envelope at its edge (the S3 gateway to an ``<Error>`` name
and status, Kingsoft to ``{"Error": {...}}`` with a 4xx, Tencent answers with the code itself:
the codes Tencent has are spelled as Tencent spells them).

    try:
        verified = sigv4.verify(parts, lookup, now=time.time(), policy=policy)
    except AuthFailure as exc:
        raise S3Error(*S3_NAMES[exc.code], exc.message) from exc
"""

from __future__ import annotations

__all__ = [
    "BAD_DATE",
    "BAD_QUERY",
    "DATE_MISMATCH",
    "EXPIRED",
    "MALFORMED",
    "MISMATCH",
    "MISSING",
    "NOT_YET_VALID",
    "NO_PAYLOAD_HASH",
    "REPLAY",
    "SKEWED",
    "UNKNOWN_KEY",
    "UNSIGNED_HEADER",
    "WRONG_SCOPE",
]

MISSING = "AuthFailure.MissingAuthorization"
"""The request carries no signature at all (no ``Authorization``, no presigned query)."""
MALFORMED = "AuthFailure.InvalidAuthorization"
"""The ``Authorization`` header is not one of the scheme's (or a field of it is malformed)."""
BAD_QUERY = "AuthFailure.InvalidQueryAuthorization"
"""A presigned URL's ``X-Amz-*`` parameters are malformed or inconsistent (date, scope, expiry)."""
BAD_DATE = "AuthFailure.InvalidDate"
"""The request time (``X-Amz-Date``) is missing or not in the scheme's format."""
DATE_MISMATCH = "AuthFailure.DateMismatch"
"""The credential scope's date is not the date of the request time."""
SKEWED = "AuthFailure.SignatureExpire"
"""The request time is further from the server's clock than the allowed skew."""
NOT_YET_VALID = "AuthFailure.NotYetValid"
"""A presigned URL or COS signature whose validity starts in the future (beyond the skew)."""
EXPIRED = "AuthFailure.Expired"
"""A presigned URL or COS signature past the end of its validity."""
WRONG_SCOPE = "AuthFailure.InvalidScope"
"""The credential scope names another service or region."""
UNSIGNED_HEADER = "AuthFailure.UnsignedHeader"
"""A header the transport requires to be signed is not in SignedHeaders."""
NO_PAYLOAD_HASH = "AuthFailure.MissingContentSha256"
"""SigV4 without a known body hash and without ``x-amz-content-sha256``."""
UNKNOWN_KEY = "AuthFailure.SecretIdNotFound"
"""No usable key has the access key id (unknown, or disabled when the transport says so)."""
MISMATCH = "AuthFailure.SignatureFailure"
"""The signature does not match the one computed with the key's secret."""
REPLAY = "AuthFailure.SignatureReplay"
"""The signature was already accepted for a different request (TC3's replay guard)."""
