"""Every list other than tasks and media is a range of one index (issue 17): the EXPLAIN QUERY PLAN
of each page query (events pull / recent / confirm, webhook deliveries and the dispatcher's claim,
presets, templates, procedures, the S3/COS listings and ``/v1/objects``) names the index and its
range, and never a scan of the table or a sort. Keyset listings see every row once when rows are
inserted between their pages (the S3 listing, the event pull); the S3 listing, which seeks past
what it rolls up, lists what a plain walk of the keys lists."""

from __future__ import annotations

import base64
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from openvod.api.compat.s3 import listing, multipart
from openvod.api.compat.s3.buckets import create_bucket
from openvod.api.compat.s3.common import HIDDEN_ROLES, XMLNS
from openvod.api.compat.s3.metadata import Metadata
from openvod.config import Settings
from openvod.runtime import Context
from openvod.services import deliveries, events, objects, presets, procedures, templates
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context
from openvod.storage.base import ObjectStat

NS = {"s3": XMLNS}
BUCKET = "audit"


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    """On SQLite, whose plans the plan test reads."""
    c = build_context(Settings(data_dir=tmp_path, workers=0))
    yield c
    c.db.dispose()


@pytest.fixture()
def any_ctx(tmp_path: Path, database_url: str | None) -> Iterator[Context]:
    """On SQLite, then on PostgreSQL (byte-order keys there are COLLATE "C")."""
    c = build_context(Settings(data_dir=tmp_path, database_url=database_url, workers=0))
    yield c
    c.db.dispose()


def _app(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def _put(ctx: Context, app_id: str, key: str, *, role: str = "upload") -> None:
    objects.register_object(ctx, app_id, ObjectStat(BUCKET, f"{app_id}/{key}", 1, "e", "text/plain"), role=role)


def _upload(ctx: Context, app_id: str, key: str, parts: int) -> str:
    """A multipart upload of ``key`` with ``parts`` part rows (no bytes: listings read rows only)."""
    r = multipart.create_multipart(ctx, app_id, BUCKET, key, Metadata("text/plain"))
    upload_id = str(ET.fromstring(bytes(r.body)).findtext("s3:UploadId", namespaces=NS))
    for n in range(1, parts + 1):
        objects.register_object(ctx, app_id, ObjectStat(BUCKET, f"{app_id}/.s3mp/{upload_id}/{n:05d}", 1, "e", "x"),
                                role="s3-part")
    return upload_id


def _plans(ctx: Context, call: Callable[[], object], marker: str) -> list[str]:
    """The query plans of the statements ``call`` runs whose SQL contains ``marker``."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("SELECT") and marker in " ".join(statement.split()):
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    with ctx.db.engine.connect() as conn:
        return [" | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                for statement, parameters in seen]


def _claim_deliveries(ctx: Context) -> None:
    dispatcher = deliveries.Dispatcher(ctx)
    try:
        dispatcher._claim(4)
        dispatcher._idle_seconds()
    finally:
        dispatcher._pool.shutdown()


def _s3(fn: Callable[..., Any], *args: Any) -> Callable[[Context, str], object]:
    return lambda ctx, app_id: fn(ctx, app_id, BUCKET, *args)


OBJECT_RANGE = "sqlite_autoindex_object_1 (app_id=? AND bucket=? AND key>? AND key<?)"  # (app_id, bucket, key)
EV = "ev" + "0" * 26

# (what, the call, a piece of SQL only its page query has, the index and the range it must search)
CASES: list[tuple[str, Callable[[Context, str], object], str, str]] = [
    ("events.pull", lambda ctx, app_id: events.pull_events(ctx, app_id, wait=0),
     "event.visible_at <=", "ix_event_app_unconfirmed (app_id=?)"),
    ("events.confirm", lambda ctx, app_id: events.confirm_events(ctx, app_id, [f"{EV}.1", "x.2"]),
     "event.id IN", "ix_event_app_id_id (app_id=? AND id=?)"),
    ("events.list_recent", lambda ctx, app_id: events.list_recent(ctx, app_id),
     "ORDER BY event.id DESC", "ix_event_app_id_id (app_id=?)"),
    ("events.list_recent marker", lambda ctx, app_id: events.list_recent(ctx, app_id, marker=EV),
     "ORDER BY event.id DESC", "ix_event_app_id_id (app_id=? AND id<?)"),
    ("events.list_recent type", lambda ctx, app_id: events.list_recent(ctx, app_id, type_="Audit", marker=EV),
     "ORDER BY event.id DESC", "ix_event_app_type_id (app_id=? AND type=? AND id<?)"),
    ("deliveries.list_deliveries", lambda ctx, app_id: deliveries.list_deliveries(ctx, app_id),
     "ORDER BY delivery.id DESC", "ix_delivery_app_id_id (app_id=?)"),
    ("deliveries.list_deliveries state", lambda ctx, app_id: deliveries.list_deliveries(ctx, app_id, state="failed"),
     "ORDER BY delivery.id DESC", "ix_delivery_app_state_id (app_id=? AND state=?)"),
    ("deliveries.Dispatcher claim", lambda ctx, app_id: _claim_deliveries(ctx),
     "ORDER BY delivery.next_attempt_at", "ix_delivery_state_due (state=? AND next_attempt_at<?)"),
    ("deliveries.Dispatcher next due", lambda ctx, app_id: _claim_deliveries(ctx),
     "min(delivery.next_attempt_at)", "ix_delivery_state_due (state=?)"),
    ("presets.list_presets", lambda ctx, app_id: presets.list_presets(ctx, app_id),
     "ORDER BY preset.name", "sqlite_autoindex_preset_1 (app_id=?)"),
    ("presets.list_presets names", lambda ctx, app_id: presets.list_presets(ctx, app_id, type="avop", names=["a"]),
     "ORDER BY preset.name", "sqlite_autoindex_preset_1 (app_id=? AND name=?)"),
    ("templates.list_templates", lambda ctx, app_id: templates.list_templates(ctx, app_id, "Transcode",
                                                                              type="Custom", offset=2),
     "ORDER BY template.definition", "ix_template_app_kind_definition (app_id=? AND kind=?)"),
    ("templates.list_templates total", lambda ctx, app_id: templates.list_templates(ctx, app_id, "Transcode"),
     "count(*)", "ix_template_app_kind_definition (app_id=? AND kind=?)"),
    ("templates.list_templates definitions",
     lambda ctx, app_id: templates.list_templates(ctx, app_id, "Transcode", definitions=[1000000, 1000001]),
     "ORDER BY template.definition", "ix_template_app_kind_definition (app_id=? AND kind=? AND definition=?)"),
    ("procedures.list_procedures", lambda ctx, app_id: procedures.list_procedures(ctx, app_id, offset=1),
     "ORDER BY procedure.name", "sqlite_autoindex_procedure_1 (app_id=?)"),
    ("procedures.list_procedures names", lambda ctx, app_id: procedures.list_procedures(ctx, app_id, names=["a"]),
     "ORDER BY procedure.name", "sqlite_autoindex_procedure_1 (app_id=? AND name=?)"),
    ("s3 ListObjectsV2", _s3(listing.list_objects, {"list-type": "2", "prefix": "a/", "max-keys": "2"}),
     'ORDER BY object."key"', OBJECT_RANGE),
    ("s3 ListObjectsV2 token", _s3(listing.list_objects, {
        "list-type": "2", "continuation-token": base64.urlsafe_b64encode(b"a/1").decode()}),
     'ORDER BY object."key"', OBJECT_RANGE),
    ("s3 ListObjects delimiter", _s3(listing.list_objects, {"delimiter": "/", "marker": "a/", "max-keys": "3"}),
     'ORDER BY object."key"', OBJECT_RANGE),
    ("s3 ListParts", lambda ctx, app_id: multipart.list_parts(
        ctx, app_id, BUCKET, "big", _upload(ctx, app_id, "big", 3), {"part-number-marker": "1", "max-parts": "1"}),
     "object.role = ?", OBJECT_RANGE),
    ("s3 ListMultipartUploads", _s3(multipart.list_uploads, {"prefix": "b"}),
     "object.role = ?", OBJECT_RANGE),
    ("v1 objects.list_objects", _s3(objects.list_objects, "a/"),
     'ORDER BY object."key"', OBJECT_RANGE),
]


@pytest.mark.parametrize(("what", "call", "marker", "index"), CASES, ids=[c[0] for c in CASES])
def test_each_list_is_a_range_of_one_index(ctx: Context, what: str, call: Callable[[Context, str], object],
                                           marker: str, index: str) -> None:
    app_id = _app(ctx)
    create_bucket(ctx, app_id, BUCKET)
    for key in ("a/1", "a/2", "a/b/3", "c"):
        _put(ctx, app_id, key)
    _upload(ctx, app_id, "big", 2)
    with ctx.db.session() as s:
        for _ in range(3):
            events.record(s, app_id, "Audit", {"n": 1}, cb_url="http://127.0.0.1:9/")
    plans = _plans(ctx, lambda: call(ctx, app_id), marker)
    assert plans, f"{what}: no statement with {marker!r}"
    for plan in plans:
        assert f"INDEX {index}" in plan, plan
        assert "TEMP B-TREE" not in plan and "SCAN " not in plan, plan


def _keys_page(ctx: Context, app_id: str, params: dict[str, str]) -> tuple[list[str], str | None]:
    root = ET.fromstring(bytes(listing.list_objects(ctx, app_id, BUCKET, params).body))
    keys = [str(e.text) for e in root.iterfind("s3:Contents/s3:Key", NS)]
    keys += [str(e.text) for e in root.iterfind("s3:CommonPrefixes/s3:Prefix", NS)]
    return sorted(keys), root.findtext("s3:NextContinuationToken", namespaces=NS)


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_s3_listing_sees_every_key_once_while_keys_are_inserted(any_ctx: Context, delimiter: str) -> None:
    """ListObjectsV2 pages by continuation token (the last key listed): a key inserted behind the
    cursor is not listed, one inserted ahead of it is, and none is listed twice or skipped."""
    ctx, app_id = any_ctx, _app(any_ctx)
    create_bucket(ctx, app_id, BUCKET)
    initial = [f"k{n:03d}" for n in range(0, 60, 3)] + ["d/1", "d/2", "e/1"]
    for key in initial:
        _put(ctx, app_id, key)
    rng = random.Random(17)
    listed: list[str] = []
    ahead: set[str] = set()
    behind: set[str] = set()
    token: str | None = None
    while True:
        params = {"list-type": "2", "max-keys": "4", "delimiter": delimiter}
        if token is not None:
            params["continuation-token"] = token
        page, token = _keys_page(ctx, app_id, params)
        listed += page
        if token is None:
            break
        cursor = base64.urlsafe_b64decode(token).decode()
        for _ in range(2):  # between pages: new keys behind the cursor and ahead of it
            key = f"k{rng.randrange(60):03d}x"
            if key not in listed and key not in ahead | behind:
                _put(ctx, app_id, key)
                (ahead if key > cursor else behind).add(key)
    assert listed == sorted(set(listed)), "a key was listed twice or out of order"
    rolled = {k.split("/")[0] + "/" if delimiter and "/" in k else k for k in initial}
    assert set(listed) == rolled | ahead
    assert ahead and behind and not behind & set(listed)


def _reference_page(keys: list[str], prefix: str, delimiter: str, after: str,
                    max_keys: int) -> tuple[list[str], list[str], bool, str]:
    """What a walk of every key in order lists (the listing before it learnt to seek)."""
    contents: list[str] = []
    prefixes: list[str] = []
    for key in sorted(k for k in keys if k.startswith(prefix) and k > after):
        entry = None
        if delimiter and (i := key.find(delimiter, len(prefix))) >= 0:
            entry = key[: i + len(delimiter)]
            if prefixes and prefixes[-1] == entry:
                continue
        if after and (entry or key) <= after:
            continue
        if len(contents) + len(prefixes) >= max_keys:
            return contents, prefixes, True, (contents + prefixes and max(contents[-1:] + prefixes[-1:])) or ""
        (contents if entry is None else prefixes).append(entry or key)
    return contents, prefixes, False, (contents + prefixes and max(contents[-1:] + prefixes[-1:])) or ""


def test_s3_listing_lists_what_a_walk_of_every_key_lists(any_ctx: Context) -> None:
    ctx, app_id = any_ctx, _app(any_ctx)
    rng = random.Random(5)
    alphabet = ["a", "b", "/", "-", "é", "\U0010ffff"]
    keys = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(150)})
    for key in keys:
        _put(ctx, app_id, key)
    _put(ctx, app_id, "a/hidden", role="s3-part")
    for _ in range(300):
        prefix = rng.choice(["", "a", "a/", "b/", "é", "\U0010ffff"])
        delimiter = rng.choice(["", "/", "a/", "-"])
        after = rng.choice(["", rng.choice(keys), rng.choice(keys)[:2], "a/"])
        max_keys = rng.choice([0, 1, 2, 7, 1000])
        page = objects.list_page(ctx, app_id, BUCKET, prefix=prefix, delimiter=delimiter, after=after,
                                 max_keys=max_keys, hidden_roles=HIDDEN_ROLES)
        got = ([o.logical_key for o in page.objects], list(page.prefixes), page.truncated, page.last)
        assert got == _reference_page(keys, prefix, delimiter, after, max_keys), (prefix, delimiter, after, max_keys)


def test_event_pull_hands_out_every_event_once_while_events_are_recorded(any_ctx: Context) -> None:
    """Pull and confirm until empty, recording events between pulls: each event is handed out
    exactly once, however many the app confirmed before it."""
    ctx, app_id = any_ctx, _app(any_ctx)
    recorded: list[str] = []

    def record(n: int) -> None:
        with ctx.db.session() as s:
            recorded.extend(events.record(s, app_id, "Audit", {"n": i}) for i in range(n))

    record(40)
    handed: list[str] = []
    for round_ in range(50):
        items = events.pull_events(ctx, app_id, wait=0)
        if not items and round_ >= 8:
            break
        handed += [i.event_id for i in items]
        if round_ < 8:
            record(5)  # between pages
        assert events.confirm_events(ctx, app_id, [i.event_handle for i in items]) == len(items)
    assert len(handed) == len(set(handed)) == len(recorded)
    assert set(handed) == set(recorded)


def test_list_buckets_seeks_each_bucket_instead_of_grouping_every_object(ctx: Context) -> None:
    """ListBuckets names the app's buckets one index seek each (a skip scan of (app_id, bucket,
    key)) and dates each by its marker or first key: no walk of the objects they hold."""
    from openvod.services import buckets

    app_id = _app(ctx)
    for name in ("b-one", "b-two", "b-three"):
        ctx.storage.ensure_bucket(name)
        buckets.create_bucket(ctx, app_id, name)
    for i in range(200):
        objects.register_object(ctx, app_id, ObjectStat("b-two", f"{app_id}/k{i:04d}", 1, "e", "x"), role="upload")
    objects.register_object(ctx, app_id, ObjectStat("b-four", f"{app_id}/only", 1, "e", "x"), role="upload")
    names = [n for n, _ in buckets.bucket_dates(ctx, app_id)]
    assert names == buckets.list_buckets(ctx, app_id) == ["b-four", "b-one", "b-three", "b-two"]
    plans = _plans(ctx, lambda: buckets.bucket_dates(ctx, app_id), "FROM object")
    assert 5 <= len(plans) <= 5 + 2 * 4, plans  # 4 seeks + the one that finds no more; 1-2 per bucket
    for plan in plans:
        assert "SEARCH object USING" in plan and "SCAN object" not in plan and "TEMP B-TREE" not in plan, plan
