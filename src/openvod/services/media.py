"""The media library: ingest, describe, list/search, modify, delete."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openvod.db.models import HlsKey, Media, Object
from openvod.domain.keys import validate_bucket, validate_key
from openvod.domain.media import DeletePart, validate_class_id, validate_name
from openvod.domain.media_sort import MediaSort, duration_of, parse_order, parse_sort
from openvod.domain.numbers import parse_uint
from openvod.domain.sharing import effective_public, sharing_of
from openvod.domain.tasks import new_task_id
from openvod.domain.views.media import MediaView, Problem, SourceView
from openvod.errors import InvalidParameter, NotFound, OpenVODError
from openvod.media.inputs import MediaLimits
from openvod.media.probe import metadata_summary, probe
from openvod.runtime import Context
from openvod.services import events
from openvod.services.media_list import MediaQuery, count_media, page_of_media, window_in_creation_order
from openvod.services.playback import Links, listed, outputs_of
from openvod.storage.base import ObjectStat

__all__ = [
    "IngestOptions",
    "delete_media",
    "describe_media",
    "get_media",
    "ingest",
    "list_media",
    "modify_media",
    "physical",
]

_UNSET: Any = object()
log = logging.getLogger("openvod.media")

PROBE_FAILED = "FailedOperation.ProbeFailed"  # the code of probe errors stored before it was kept
NOT_MEDIA = "FailedOperation.NotMedia"  # an upload's flow not started: the file is not media
# The cover made for a video uploaded without one (settings.auto_cover): Tencent's CoverBySnapshot
# with its system template, a tenth of the way in (past fades from black).
AUTO_COVER_TASK = {"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 10}]}
# Single-image demuxers (media/inputs.py's allowlist): such a file is an image, not a video.
_IMAGE_FORMATS = frozenset({"png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe", "qoi_pipe",
                            "image2", "gif_pipe"})


def physical(app_id: str, bucket: str, key: str) -> tuple[str, str]:
    """Where an app's logical (bucket, key) lives in storage: keys are prefixed by the app id,
    so no key of one app can name another app's object."""
    return validate_bucket(bucket), f"{app_id}/{validate_key(key)}"


@dataclass
class IngestOptions:
    name: str
    class_id: int = 0
    description: str = ""
    procedure: str = ""
    source_context: str = ""
    session_context: str = ""
    task_priority: int = 0
    task_notify_mode: str = "Finish"
    storage_region: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _md5_of(ctx: Context, bucket: str, key: str) -> str:
    h = hashlib.md5(usedforsecurity=False)
    for chunk in ctx.storage.open(bucket, key):
        h.update(chunk)
    return h.hexdigest()


def _probe(
    ctx: Context, bucket: str, key: str, stat: ObjectStat, md5: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any], Problem | None]:
    md5 = md5 or _md5_of(ctx, bucket, key)
    shown = key.split("/", 1)[-1]
    try:
        with ctx.storage.local_path(bucket, key) as path:
            try:
                info = probe(path, timeout=ctx.settings.probe_timeout,
                             limits=MediaLimits.from_settings(ctx.settings))
            except OpenVODError as exc:
                exc.message = exc.message.replace(str(path), shown)  # no server paths in answers
                raise
    except OpenVODError as exc:
        meta = {"Size": stat.size, "Md5": md5, "Container": "", "Duration": 0.0, "Width": 0, "Height": 0}
        return None, meta, Problem(code=exc.code, message=exc.message)
    return info, metadata_summary(info, size=stat.size, md5=md5), None


def _media_type(info: dict[str, Any] | None) -> str:
    """``video``, ``audio``, ``image`` (a single-image container) or ``unknown`` (not media)."""
    if not info:
        return "unknown"
    kinds = {st.get("codec_type") for st in info.get("streams", [])}
    formats = set(str((info.get("format") or {}).get("format_name", "")).split(","))
    if "video" in kinds:
        return "image" if formats & _IMAGE_FORMATS else "video"
    return "audio" if "audio" in kinds else "unknown"


def _skip_reason(procedure: str, error: Problem | None) -> str:
    why = f": {error.message}" if error is not None else ""
    return (f"task flow {procedure!r} was not started: the file is not a media file OpenVOD can read{why}. "
            "It is stored as it is (e.g. as an attachment); upload a video or audio file to run the flow")


def ingest(
    ctx: Context,
    *,
    app_id: str,
    file_id: str,
    bucket: str,
    key: str,
    stat: ObjectStat,
    options: IngestOptions,
    md5: str | None = None,
    finish: Any = None,
) -> MediaView:
    """Turn a stored physical object into a media file: probe it, then in one transaction create
    the media and object rows and a ``NewFileUpload`` event. ``finish(session)`` runs in that
    transaction too (the upload service marks its session done there). A file that fails to probe
    still becomes media, with ``probe_error`` set."""
    info, meta, error = _probe(ctx, bucket, key, stat, md5)
    media_type = _media_type(info)
    # A flow on a file that is not media would fail at every step: it is not started, and the
    # media says why (procedure_skipped) instead of a task of identical failures.
    skipped = _skip_reason(options.procedure, error) if options.procedure and media_type == "unknown" else None
    procedure_task_id = new_task_id() if options.procedure and skipped is None else ""
    with ctx.db.session() as s:
        existing = s.get(Media, file_id)
        if existing is not None:  # idempotent: a completion retried after a crash
            if finish:
                finish(s)
            done = True
        else:
            done = False
    if done:
        return get_media(ctx, app_id, file_id)
    with ctx.db.session() as s:
        m = Media(
            id=file_id,
            app_id=app_id,
            name=options.name,
            description=options.description,
            class_id=options.class_id,
            source_bucket=bucket,
            source_key=key,
            media_type=media_type,
            probe=info,
            meta=meta,
            size=stat.size,
            duration=duration_of(info),
            probe_error=error.message if error is not None else None,
            probe_error_code=error.code if error is not None else None,
            procedure_skipped=skipped,
            procedure=options.procedure,
            source_context=options.source_context,
            session_context=options.session_context,
            task_priority=options.task_priority,
            task_notify_mode=options.task_notify_mode,
            storage_region=options.storage_region,
        )
        s.add(m)
        s.add(Object(app_id=app_id, bucket=bucket, key=key, size=stat.size, etag=stat.etag,
                     content_type=stat.content_type, media_id=file_id, role="source"))
        s.flush()
        events.record(s, app_id, events.EventType.NEW_FILE_UPLOAD, {
            "FileId": file_id,
            "MediaBasicInfo": {"Name": m.name, "ClassId": m.class_id, "Type": m.media_type},
            "MetaData": meta,
            "ProcedureTaskId": procedure_task_id,
            "SourceContext": m.source_context,
            "SessionContext": m.session_context,
            "Procedure": m.procedure,
            "ProbeError": error.message if error is not None else None,
            **({"ProcedureSkipped": {"Code": NOT_MEDIA, "Message": skipped}} if skipped else {}),
        })
        if finish:
            finish(s)
    public = get_media(ctx, app_id, file_id)  # after commit: outputs and URLs read committed rows
    if procedure_task_id:
        _start_procedure(ctx, app_id, file_id, options, procedure_task_id)
    elif skipped:
        log.info("media %s: %s", file_id, skipped)
    if media_type == "video" and ctx.settings.auto_cover and public.cover_url is None:
        _start_auto_cover(ctx, app_id, file_id, options)
    return public


def _start_procedure(ctx: Context, app_id: str, file_id: str, options: IngestOptions, task_id: str) -> None:
    """Run the upload's task flow. The media exists whatever happens here: a flow that can't start
    (deleted since the upload was authorised) is logged, not raised."""
    from openvod.services import processing

    try:
        processing.run_procedure(ctx, app_id, file_id, options.procedure, priority=options.task_priority,
                                 notify_mode=options.task_notify_mode, session_context=options.session_context,
                                 task_id=task_id)
    except OpenVODError as exc:
        log.warning("task flow %r for media %s did not start: %s", options.procedure, file_id, exc)


def _start_auto_cover(ctx: Context, app_id: str, file_id: str, options: IngestOptions) -> None:
    """Queue a cover snapshot for a video uploaded without a cover, unless its flow makes one.
    The task is quiet (no ProcedureStateChanged) and keeps a cover set meanwhile (an uploaded
    cover image arriving after the video wins: ``keep_cover``)."""
    from openvod.services import procedures, processing

    try:
        if options.procedure:
            flow = procedures.get_procedure(ctx, app_id, options.procedure).media_process_task
            if flow.get("CoverBySnapshotTaskSet"):
                return
        processing.process_media(ctx, app_id, file_id, AUTO_COVER_TASK, notify_mode="None",
                                 priority=options.task_priority, ext_info="openvod:auto-cover", keep_cover=True)
    except OpenVODError as exc:
        log.warning("the cover of media %s was not queued: %s", file_id, exc)



def _describe(ctx: Context, s: Session, app_id: str, page: list[Media]) -> list[MediaView]:
    """The public form of ``page`` (media of ``app_id``): one query for all their objects and one
    privacy lookup for all their URLs."""
    if not page:
        return []
    links = Links(ctx, app_id)
    for m in page:
        links.know(m.id, m.public)
    objects: dict[str, list[Object]] = {m.id: [] for m in page}
    # By media id alone (FileIds are unique): given ``app_id = ?`` too, SQLite without statistics
    # would walk the app's whole object index for every page (measured: 266 ms at a million media).
    for o in s.scalars(select(Object).where(Object.media_id.in_(list(objects)), listed()).order_by(Object.id)):
        if o.app_id == app_id:  # whatever a bad row might say, another app's object is never shown
            objects[o.media_id or ""].append(o)
            links.know_key(o.key, o.media_id)  # a source stored outside media/{FileId}/: no lookup per URL
    return [_public(links, m, objects[m.id]) for m in page]


def _public(links: Links, m: Media, objects: list[Object]) -> MediaView:
    src = next((o for o in objects if o.bucket == m.source_bucket and o.key == m.source_key), None)
    source = None
    if src is not None:
        source = SourceView(bucket=src.bucket, key=src.key.split("/", 1)[1], size=src.size, etag=src.etag,
                            content_type=src.content_type, url=links.object(src.bucket, src.key))
    return MediaView(
        file_id=m.id,
        name=m.name,
        description=m.description,
        class_id=m.class_id,
        state=m.state,
        media_type=m.media_type,
        source=source,
        cover_url=links.object(m.source_bucket, m.cover_key) if m.cover_key else None,
        metadata=m.meta,
        probe=m.probe,
        probe_error=Problem(code=m.probe_error_code or PROBE_FAILED, message=m.probe_error)
        if m.probe_error is not None else None,
        procedure=m.procedure,
        procedure_skipped=Problem(code=NOT_MEDIA, message=m.procedure_skipped) if m.procedure_skipped else None,
        source_context=m.source_context,
        session_context=m.session_context,
        task_priority=m.task_priority,
        created_at=m.created_at,
        updated_at=m.updated_at,
        expire_at=m.expire_at,
        outputs=outputs_of(links, m, objects),
        play_url=links.page(m.id),
        public=effective_public(app_private=links.private, media_public=m.public),
        sharing=sharing_of(m.public).value,
    )


def _get(s: Session, app_id: str, file_id: str) -> Media:
    m = s.get(Media, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
    if m is None or m.app_id != app_id:
        raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.Media")
    return m


def get_media(ctx: Context, app_id: str, file_id: str) -> MediaView:
    with ctx.db.session() as s:
        return _describe(ctx, s, app_id, [_get(s, app_id, file_id)])[0]


def describe_media(ctx: Context, app_id: str, file_ids: list[str]) -> tuple[list[MediaView], list[str]]:
    if len(file_ids) > 100:
        raise InvalidParameter("at most 100 file ids at once", code="InvalidParameter.FileIds")
    page, missing = [], []
    with ctx.db.session() as s:
        for fid in file_ids:
            try:
                page.append(_get(s, app_id, fid))
            except NotFound:
                missing.append(fid)
        return _describe(ctx, s, app_id, page), missing


def list_media(
    ctx: Context,
    app_id: str,
    *,
    name: str | None = None,
    text: str | None = None,
    class_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 20,
    marker: str | None = None,
    sort: str | None = None,
    order: str | None = None,
) -> tuple[list[MediaView], str | None]:
    """One page of the library and the marker of the next (None on the last). ``sort`` is
    ``created`` (the default), ``name``, ``size`` or ``duration``; ``order`` ``desc`` (the default)
    or ``asc``; ties go by FileId, and media without a size or duration come last either way. Each
    page is a keyset range of one index (:mod:`openvod.services.media_list`), as cheap deep in a
    million media as at the top. ``name`` keeps media whose name contains it, ``text`` those whose
    name or description does (case-insensitive; by trigram index)."""
    if not 1 <= limit <= 100:
        raise InvalidParameter(f"limit must be 1-100, got {limit}", code="InvalidParameter.Limit")
    q = MediaQuery(sort=parse_sort(sort), order=parse_order(order), name=name, text=text, class_id=class_id,
                   created_from=created_from, created_to=created_to, limit=limit, marker=marker,
                   mint_lag=_mint_lag(ctx))  # a creation range is a FileId range too
    with ctx.db.session() as s:
        rows, nxt = page_of_media(s, app_id, q)
        return _describe(ctx, s, app_id, rows), nxt


SEARCH_WINDOW = 5000
"""Tencent's SearchMedia bound: ``Offset + Limit`` at most 5,000, and ``TotalCount`` counts no further."""


def _mint_lag(ctx: Context) -> timedelta:
    """The most a FileId is minted before its media is created: an upload's FileId is minted when
    it begins and the media created when it ends, before the upload expires (tus:
    ``upload_expire_hours``; COS: ``cos_upload_ttl``), then hashed and probed, for which a day is
    allowed (a pull mints it once the bytes are in)."""
    s = ctx.settings
    return max(timedelta(hours=s.upload_expire_hours), timedelta(seconds=s.cos_upload_ttl)) + timedelta(days=1)


def search_media(ctx: Context, app_id: str, query: MediaQuery, *, offset: int, limit: int,
                 ) -> tuple[list[MediaView], int]:
    """Tencent's SearchMedia: media ``offset`` to ``offset + limit - 1``, in creation order
    (``query.order``, newest first by default), of those matching every filter of ``query`` (its
    sort, limit and marker aside), and how many match (at most :data:`SEARCH_WINDOW`). It reads
    the app's media in FileId order (a creation range: only that range) until the window is full;
    one class or category is a range of its own index; several, or an expiry, that few media
    have cost a walk of the app's media (:mod:`openvod.services.media_list`)."""
    if offset < 0 or not 1 <= limit <= 100 or offset + limit > SEARCH_WINDOW:
        raise InvalidParameter(f"Offset must be >= 0, Limit 1-100 and Offset + Limit at most {SEARCH_WINDOW}, "
                               f"got {offset} and {limit}", code="InvalidParameterValue.Limit")
    q = replace(query, sort=MediaSort.CREATED, limit=limit, marker=None, mint_lag=_mint_lag(ctx))
    with ctx.db.session() as s:
        total = count_media(s, app_id, q, cap=SEARCH_WINDOW)
        rows = window_in_creation_order(s, app_id, q, offset, limit) if offset < total else []
        return _describe(ctx, s, app_id, rows), total


def modify_media(
    ctx: Context,
    app_id: str,
    file_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    class_id: int | None = None,
    expire_at: datetime | None = _UNSET,
) -> MediaView:
    with ctx.db.session() as s:
        m = _get(s, app_id, file_id)
        if name is not None:
            m.name = validate_name(name)
        if description is not None:
            if len(description) > 10_000:
                raise InvalidParameter("description is over 10000 characters", code="InvalidParameter.Description")
            m.description = description
        if class_id is not None:
            m.class_id = validate_class_id(class_id)
        if expire_at is not _UNSET:
            m.expire_at = expire_at
        s.flush()
        return _describe(ctx, s, app_id, [m])[0]


# Delete parts: the whole source, the cover, every output, or the outputs of one kind (optionally
# of one Definition, as "transcodes:100030"). Kinds name the roles their files are stored under.
OUTPUT_KINDS = {
    "transcodes": "Transcode",
    "animated_graphics": "AnimatedGraphics",
    "snapshots": "SnapshotByTimeOffset",
    "sample_snapshots": "SampleSnapshot",
    "image_sprites": "ImageSprite",
    "adaptive_streams": "AdaptiveDynamicStreaming",
}


def _parse_parts(parts: list[str]) -> list[tuple[str, int | None]]:
    out = []
    for part in parts:
        name, _, definition = part.partition(":")
        if name not in {p.value for p in DeletePart} | set(OUTPUT_KINDS):
            raise InvalidParameter(
                f"unknown delete part {part[:80]!r}; use source, cover, outputs or one of {', '.join(OUTPUT_KINDS)} "
                "(optionally with :Definition)", code="InvalidParameter.DeleteParts")
        number = parse_uint(definition, "the Definition of a delete part",
                            code="InvalidParameter.DeleteParts") if definition else None
        out.append((name, number))
    return out


def _doomed(o: Object, parts: list[tuple[str, int | None]] | None) -> bool:
    if parts is None:
        return True
    for name, definition in parts:
        if name == DeletePart.SOURCE and o.role == "source":
            return True
        if name == DeletePart.COVER and o.role == "cover":
            return True
        if name == DeletePart.OUTPUTS and o.role not in ("source", "cover"):
            return True
        role = OUTPUT_KINDS.get(name)
        if role and o.role.split(".")[0] == role and (definition is None or o.definition == definition):
            return True
    return False


def delete_media(ctx: Context, app_id: str, file_id: str, parts: list[str] | None = None) -> list[str]:
    """Delete chosen parts or, with none given, the whole media file with every stored byte under
    it. Objects go first, rows after, so a crash in between leaves a record to delete again rather
    than orphaned bytes."""
    wanted = _parse_parts(parts) if parts else None
    with ctx.db.session() as s:
        m = _get(s, app_id, file_id)
        bucket, source_key = m.source_bucket, m.source_key
        objs = [(o.id, o.bucket, o.key) for o in s.scalars(select(Object).where(
            Object.app_id == app_id, Object.media_id == file_id)) if _doomed(o, wanted)]
    st = ctx.storage
    if wanted is None:
        st.delete_prefix(bucket, source_key.rsplit("/", 1)[0] + "/")
        st.delete(bucket, source_key)
    for _id, b, k in objs:
        st.delete(b, k)
    with ctx.db.session() as s:
        m = _get(s, app_id, file_id)
        for oid, _b, _k in objs:
            row = s.get(Object, oid)
            if row is not None:
                s.delete(row)
        if wanted is None:
            s.execute(delete(HlsKey).where(HlsKey.app_id == app_id, HlsKey.media_id == file_id))
            s.delete(m)
        else:
            if m.cover_key and any(k == m.cover_key for _i, _b, k in objs):
                m.cover_key = None
            if any(b == m.source_bucket and k == m.source_key for _i, b, k in objs):
                m.size = None  # no source, no size: it sorts with the media that have none
        done = [p.value for p in DeletePart] if wanted is None else [
            f"{n}:{d}" if d is not None else n for n, d in wanted]
        events.record(s, app_id, events.EventType.FILE_DELETED,
                      {"FileIdSet": [file_id], "DeleteParts": done, "WholeFile": wanted is None})
    return done
