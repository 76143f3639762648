"""Pull upload: the server fetches a URL (behind the SSRF guard) and ingests it as media."""

from __future__ import annotations

import tempfile
from urllib.parse import unquote, urlsplit

from openvod.domain.media import guess_type, media_key, validate_class_id, validate_name
from openvod.domain.views.media import MediaView
from openvod.errors import InvalidParameter
from openvod.ids import new_file_id
from openvod.net.safe_fetch import fetch_to_file
from openvod.runtime import Context
from openvod.services.media import IngestOptions, ingest, physical

__all__ = ["pull_media"]


def pull_media(
    ctx: Context,
    app_id: str,
    url: str,
    *,
    name: str | None = None,
    class_id: int = 0,
    procedure: str = "",
    source_context: str = "",
    session_context: str = "",
) -> MediaView:
    """Fetch ``url`` into storage and create media from it. Refuses loopback/private targets
    unless ``pull_allow_private``, and link-local/metadata addresses always."""
    if not isinstance(url, str) or len(url) > 4096:
        raise InvalidParameter("url must be a string of at most 4096 characters", code="InvalidParameter.Url")
    validate_class_id(class_id)
    settings = ctx.settings
    tmp_dir = settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmp_dir) as tmp:
        result = fetch_to_file(url, tmp, max_size=settings.pull_max_size, timeout=settings.pull_timeout,
                               allow_private=settings.pull_allow_private)
        filename = result.filename or unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "pulled"
        file_id = new_file_id()
        bucket, key = physical(app_id, settings.default_bucket, media_key(file_id, filename))
        ctx.storage.ensure_bucket(bucket)
        tmp.seek(0)
        ctype = result.content_type or guess_type(filename)
        stat = ctx.storage.put(bucket, key, tmp, content_type=ctype)
    return ingest(
        ctx, app_id=app_id, file_id=file_id, bucket=bucket, key=key, stat=stat,
        options=IngestOptions(name=validate_name(name or filename), class_id=class_id, procedure=procedure,
                              source_context=source_context[:250], session_context=session_context[:1000]),
    )
