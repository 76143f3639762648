"""The browser upload SDK OpenVOD serves at ``/sdk/vod-js-sdk-v6.js``: a drop-in for Tencent's
vod-js-sdk-v6 (``static/sdk/tcvod.js``) with the vendored tus-js-client (``static/vendor/tus.min.js``,
from ``scripts/build-web``) before it, both committed; nothing is built at run time.

tus-js-client runs in a function of its own with a local CommonJS ``module``, so it takes its
CommonJS branch and leaves no global ``tus`` (nor an AMD module) on the page; the SDK gets it as
an argument and defines only ``TcVod``::

    body, etag = tcvod_script()
"""

from __future__ import annotations

import hashlib
from functools import cache

from openvod.web import STATIC_DIR

__all__ = ["tcvod_script"]

_HEAD = (
    "/*! OpenVOD browser uploader, a drop-in for vod-js-sdk-v6 (docs/api.md). Includes tus-js-client"
    " (MIT, https://github.com/tus/tus-js-client) */\n"
    "(function (tus) {\n"
)
_MIDDLE = "\n})((function () {\nvar module = { exports: {} }, exports = module.exports;\n"
_TAIL = "\n;return module.exports;\n})());\n"


@cache
def tcvod_script() -> tuple[bytes, str]:
    """The script's bytes and a strong ETag of them (read once per process)."""
    wrapper = (STATIC_DIR / "sdk" / "tcvod.js").read_text(encoding="utf-8")
    tus = (STATIC_DIR / "vendor" / "tus.min.js").read_text(encoding="utf-8")
    body = (_HEAD + wrapper + _MIDDLE + tus + _TAIL).encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
