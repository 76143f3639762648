"""The media library's read models and the services behind the S3 gateway, against a real SQLite
database and real local storage: what the services return, and what each transport renders."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openvod.api.compat.tencent.library_render import event_content, media_info
from openvod.api.playback import player_json
from openvod.api.v1.media_schemas import MediaPublic
from openvod.api.v1.object_schemas import ObjectPublic
from openvod.config import Settings
from openvod.domain.views.media import MediaView
from openvod.domain.views.objects import ObjectView
from openvod.errors import Conflict
from openvod.runtime import Context
from openvod.services import buckets, events, objects, outputs, playback
from openvod.services.apps import create_app, ensure_default_app
from openvod.services.context import build_context
from openvod.services.media import IngestOptions, get_media, ingest, physical
from openvod.storage.base import ObjectStat
from tests.media import make_clip


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path / "data"))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def _put(ctx: Context, app_id: str, bucket: str, key: str, data: bytes, role: str = "upload",
         **kw: object) -> ObjectStat:
    pb, pk = physical(app_id, bucket, key)
    stat = ctx.storage.put(pb, pk, io.BytesIO(data), content_type="application/octet-stream")
    objects.register_object(ctx, app_id, stat, role=role, **kw)  # type: ignore[arg-type]
    return stat


def test_buckets_and_delimited_listing(ctx: Context, app_id: str) -> None:
    other = create_app(ctx.db, "other")[0].id
    assert buckets.list_buckets(ctx, app_id) == []
    buckets.create_bucket(ctx, app_id, "photos")
    assert buckets.bucket_exists(ctx, app_id, "photos") and not buckets.bucket_exists(ctx, other, "photos")
    for key in ("a/1.jpg", "a/2.jpg", "b/1.jpg", "top.jpg"):
        _put(ctx, app_id, "photos", key, key.encode())
    _put(ctx, app_id, "photos", ".s3mp/x", b"", role="s3-multipart")
    _put(ctx, other, "photos", "a/9.jpg", b"not mine")
    assert buckets.list_buckets(ctx, app_id) == ["photos"]

    hidden = ("bucket", "s3-multipart", "s3-part")
    page = objects.list_page(ctx, app_id, "photos", delimiter="/", hidden_roles=hidden)
    assert [o.logical_key for o in page.objects] == ["top.jpg"]
    assert page.prefixes == ("a/", "b/") and not page.truncated
    page = objects.list_page(ctx, app_id, "photos", prefix="a/", max_keys=1, hidden_roles=hidden)
    assert [o.logical_key for o in page.objects] == ["a/1.jpg"] and page.truncated and page.last == "a/1.jpg"
    page = objects.list_page(ctx, app_id, "photos", prefix="a/", after=page.last, hidden_roles=hidden)
    assert [o.logical_key for o in page.objects] == ["a/2.jpg"] and not page.truncated

    found = objects.find_object(ctx, app_id, "photos", f"{app_id}/a/2.jpg")
    assert isinstance(found, ObjectView) and found.size == 7 and found.role == "upload"
    assert objects.find_object(ctx, other, "photos", f"{app_id}/a/2.jpg") is None
    public = ObjectPublic.from_view(found).model_dump()
    assert public["key"] == "a/2.jpg" and public["created_at"].endswith("Z")
    assert [o.logical_key for o in objects.list_objects(ctx, other, "photos")] == ["a/9.jpg"]

    with pytest.raises(Conflict) as e:
        buckets.delete_bucket(ctx, app_id, "photos")
    assert e.value.code == "FailedOperation.BucketNotEmpty"
    objects.delete_object_rows(ctx, app_id, "photos", keys=[f"{app_id}/top.jpg", f"{app_id}/.s3mp/x"],
                               key_prefix=f"{app_id}/a/")
    objects.unregister_object(ctx, app_id, "photos", f"{app_id}/b/1.jpg")
    assert [o.logical_key for o in objects.list_objects(ctx, app_id, "photos")] == [""]  # the marker
    buckets.delete_bucket(ctx, app_id, "photos")
    assert not buckets.bucket_exists(ctx, app_id, "photos")
    assert buckets.bucket_exists(ctx, other, "photos")  # the other app's object keeps its bucket


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", seconds=1, width=160, height=90, fps=10)


def _ingest(ctx: Context, app_id: str, clip: Path) -> MediaView:
    bucket, key = physical(app_id, "vod", "media/f1/clip.mp4")
    ctx.storage.ensure_bucket(bucket)
    with clip.open("rb") as f:
        stat = ctx.storage.put(bucket, key, f, content_type="video/mp4")
    return ingest(ctx, app_id=app_id, file_id="f1", bucket=bucket, key=key, stat=stat,
                  options=IngestOptions(name="clip.mp4", class_id=3, source_context="ctx-1"))


def test_media_view_and_its_renderings(ctx: Context, app_id: str, clip: Path) -> None:
    view = _ingest(ctx, app_id, clip)
    assert isinstance(view, MediaView) and view.media_type == "video" and view.class_id == 3
    assert view.source is not None and view.source.key == "media/f1/clip.mp4" and "signature=" in view.source.url
    assert view.outputs.cover is None and view.outputs.transcodes == ()

    # Outputs the jobs write, through the functions they are handed.
    _put(ctx, app_id, "vod", "media/f1/t/360.mp4", b"mp4", role="Transcode", media_id="f1", definition=100020,
         info={"height": 360, "container": "mp4", "bitrate": 1000})
    _put(ctx, app_id, "vod", "media/f1/cover/10.jpg", b"jpg", role="cover", media_id="f1", definition=10,
         info={"width": 160})
    outputs.set_cover(ctx, "f1", f"{app_id}/media/f1/cover/10.jpg")
    assert outputs.stored_probe(ctx, "f1", f"{app_id}/media/f1/clip.mp4") == view.probe
    assert outputs.stored_probe(ctx, "f1", f"{app_id}/media/f1/other.mp4") is None
    assert outputs.stored_probe(ctx, "nope", "x") is None

    view = get_media(ctx, app_id, "f1")
    (t,) = view.outputs.transcodes
    assert (t.definition, t.size, t.info["height"]) == (100020, 3, 360)
    assert view.outputs.cover is not None and view.outputs.cover.info["width"] == 160
    assert view.cover_url is not None and view.cover_url.split("?")[0].endswith("/cover/10.jpg")

    native = MediaPublic.from_view(view).model_dump()
    assert native["outputs"]["transcodes"][0] | {"url": ""} == {
        "url": "", "size": 3, "definition": 100020, "height": 360, "container": "mp4", "bitrate": 1000}
    assert native["outputs"]["cover"]["width"] == 160 and native["source"]["key"] == "media/f1/clip.mp4"
    assert native["created_at"].endswith("Z") and native["expire_at"] is None

    tencent = media_info(view, None)
    assert tencent["BasicInfo"]["Type"] == "mp4" and tencent["BasicInfo"]["ClassId"] == 3
    assert tencent["BasicInfo"]["ExpireTime"] == "9999-12-31T23:59:59Z"
    assert tencent["BasicInfo"]["SourceInfo"]["SourceContext"] == "ctx-1"
    assert tencent["TranscodeInfo"]["TranscodeSet"][0]["Bitrate"] == 1000
    assert tencent["MetaData"]["Width"] == 160
    assert set(media_info(view, {"basicInfo"})) == {"FileId", "BasicInfo"}

    player = player_json(playback.player_data(ctx, app_id, "f1"))
    assert player["mp4"] is not None and player["mp4"].split("?")[0].endswith("/t/360.mp4")
    assert player["poster"] is not None and player["poster"].split("?")[0].endswith("/cover/10.jpg")

    (event,) = events.pull_events(ctx, app_id, wait=0)
    content = event_content(event)
    assert content["EventType"] == "NewFileUpload" and content["EventHandle"] == event.event_handle
    assert content["FileUploadEvent"]["FileId"] == "f1"
    assert content["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] == "ctx-1"


def test_a_media_read_does_not_load_its_ladders_parts(ctx: Context, app_id: str, clip: Path) -> None:
    """A long ladder stores thousands of segments and playlists (``.part``); GET media shows none of
    them, so it does not read them: its cost stays that of its outputs, not of their files."""
    from sqlalchemy import event

    from openvod.db.models import Object
    _ingest(ctx, app_id, clip)
    for i in range(300):
        _put(ctx, app_id, "vod", f"media/f1/AdaptiveDynamicStreaming/10/v0_{i:05d}.ts", b"ts",
             role="AdaptiveDynamicStreaming.part", media_id="f1", definition=10)
    _put(ctx, app_id, "vod", "media/f1/AdaptiveDynamicStreaming/10/master.m3u8", b"#EXTM3U",
         role="AdaptiveDynamicStreaming", media_id="f1", definition=10, info={"rungs": [], "format": "HLS"})
    for i in range(2):  # sprite sheets are parts too, and shown
        _put(ctx, app_id, "vod", f"media/f1/ImageSprite/10/{i}.jpg", b"jpg", role="ImageSprite.part",
             media_id="f1", definition=10)
    _put(ctx, app_id, "vod", "media/f1/ImageSprite/10/index.vtt", b"WEBVTT", role="ImageSprite", media_id="f1",
         definition=10)
    loaded: list[str] = []

    def count(target: Object, _context: object) -> None:
        loaded.append(target.role)

    event.listen(Object, "load", count)
    try:
        view = get_media(ctx, app_id, "f1")
    finally:
        event.remove(Object, "load", count)
    assert len(view.outputs.adaptive_streams) == 1 and len(view.outputs.image_sprites) == 1
    assert len(view.outputs.image_sprites[0].sheets or ()) == 2
    assert sorted(loaded) == ["AdaptiveDynamicStreaming", "ImageSprite", "ImageSprite.part", "ImageSprite.part",
                              "source"]


def test_a_page_of_media_reads_its_objects_by_media_id(ctx: Context, app_id: str, clip: Path) -> None:
    """The objects of a listed page are found through their media ids (an index lookup each), never
    by walking the app's every object (which is what ``app_id = ?`` led SQLite to plan)."""
    from sqlalchemy import event

    from openvod.services.media import list_media
    _ingest(ctx, app_id, clip)
    seen: list[tuple[str, Any]] = []

    def grab(conn: object, cursor: object, statement: str, parameters: Any, *rest: object) -> None:
        if "FROM object" in statement and "media_id IN" in statement:
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        (view,), _ = list_media(ctx, app_id)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    assert view.source is not None  # the page still has its objects
    ((statement, parameters),) = seen
    with ctx.db.engine.connect() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_object_media_id" in plan and "ix_object_app_id" not in plan, plan
