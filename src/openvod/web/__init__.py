"""The browser pages OpenVOD serves and their static files, shipped inside the package.

Nothing is built at run time: ``static/vendor/hls.min.js`` is produced by ``scripts/build-web``
from ``web/package-lock.json`` and committed.

    html = render_player(player_data)             # the /play/{file_id} page
    path = static_file("vendor/hls.min.js")       # a file under static/, or None
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any

__all__ = ["STATIC_DIR", "render_player", "static_file"]

STATIC_DIR = Path(__file__).parent / "static"
_TEMPLATES = Path(__file__).parent / "templates"


def static_file(path: str) -> Path | None:
    """The file ``path`` names under ``static/``, or None (missing, or outside the directory)."""
    root = STATIC_DIR.resolve()
    found = (root / path).resolve()
    return found if found.is_relative_to(root) and found.is_file() else None


def _json_for_script(data: Any) -> str:
    # Inside <script>, "</script>" or "<!--" in a media name must not end the element.
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_player(data: dict[str, Any], *, embed: bool = False) -> str:
    """The player page of ``data`` (``services.playback.player_data``'s dict); ``embed``: the
    player alone, filling its window (the ``/embed`` page shown in other sites' ``<iframe>``)."""
    poster = f' poster="{html.escape(data["poster"])}"' if data.get("poster") else ""
    template = Template((_TEMPLATES / "play.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=html.escape(data.get("name") or data["file_id"]),
        poster_attr=poster,
        body_class=' class="embed"' if embed else "",
        data=_json_for_script(data),
    )
