"""Read models of client (UGC) uploads: what vod-js-sdk-v6's PrepareUploadUGC and ApplyUploadUGC
are answered from (CommitUploadUGC answers a :class:`~openvod.domain.views.uploads.CosUploadResult`)."""

from __future__ import annotations

from dataclasses import dataclass

from openvod.domain.views.uploads import CosUploadGrant

__all__ = ["UgcGrant", "UgcPrepared"]


@dataclass(frozen=True)
class UgcPrepared:
    """Where a signature's upload would go: the app's number (its SubAppId, which stands for
    Tencent's APPID) and the one storage region (so the SDK races no regions)."""

    app_number: int
    region: str
    bucket_host: str  # {bucket}-{APPID}.cos.{region}.myqcloud.com


@dataclass(frozen=True)
class UgcGrant:
    """An upload granted to a client signature: the COS upload it makes (``cos``), the bucket's
    COS name parts (``cos.bucket`` + ``-`` + ``app_number``, as the SDK joins them) and when it
    was issued (Unix time; the temporary credentials hold from then until ``cos.expires``)."""

    cos: CosUploadGrant
    app_number: int
    issued_at: int
