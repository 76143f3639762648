"""OpenVOD: self-hosted video on demand and media processing.

    import openvod
    client = openvod.Client("http://127.0.0.1:8080", secret_id, secret_key)
    media = client.upload("clip.mp4")
    signature = openvod.sign_upload(secret_id, secret_key, procedure="cover-and-gif")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Client", "Media", "__version__", "sign_upload"]

if TYPE_CHECKING:
    from openvod.client import Client, Media
    from openvod.client.signing import sign_upload


def __getattr__(name: str) -> Any:
    # Lazy, so the server does not import the client (and the client not the server).
    if name in ("Client", "Media"):
        import openvod.client as c

        return getattr(c, name)
    if name == "sign_upload":
        from openvod.client.signing import sign_upload

        return sign_upload
    raise AttributeError(name)
