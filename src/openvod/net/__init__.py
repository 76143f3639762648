"""Outbound network access on behalf of users, guarded against SSRF (pull upload)."""

from openvod.net.addresses import AddressKind, classify_address, is_allowed
from openvod.net.safe_fetch import FetchResult, UpstreamStatusError, fetch_to_file

__all__ = [
    "AddressKind",
    "FetchResult",
    "UpstreamStatusError",
    "classify_address",
    "fetch_to_file",
    "is_allowed",
]
