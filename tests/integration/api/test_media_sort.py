"""``GET /v1/media?sort=&order=``: every sort and order pages the whole library exactly once, in
order, ties by FileId and media without the value last; filters hold with every sort; bad
sorts, orders and markers are 400s; ingest and delete keep the sort keys; each page is a range of
its index (SQLite's and PostgreSQL's plans)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from openvod.client import Client
from openvod.db.models import Media, utcnow
from openvod.domain.media_sort import MediaSort, SortOrder
from openvod.services.apps import default_app
from openvod.services.media_list import MediaQuery, page_of_media
from tests.conftest import make_app_server
from tests.servers import InProcessServer
from tests.tus import upload_bytes

# (name, size, duration, class_id): ties in every key, NULL sizes and durations. Lowercase ASCII
# names sort alike in SQLite's binary collation and a PostgreSQL locale's.
ROWS: list[tuple[str, int | None, float | None, int]] = [
    ("delta", 300, 12.5, 1), ("alpha", 100, None, 2), ("charlie", None, 3.0, 1), ("alpha", 300, 12.5, 2),
    ("bravo", 200, 3.0, 1), ("echo", None, None, 2), ("bravo", 100, 7.25, 1), ("alpha", 300, None, 1),
    ("foxtrot", 50, 12.5, 2), ("charlie", 200, None, 1), ("delta", None, 0.5, 2), ("golf", 300, 3.0, 1),
    ("alpha", 100, 7.25, 1),
]
PREFIX = "0000000000000"  # FileIds older than any real upload's, in ROWS' order


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("media-sort"), {"OPENVOD_WORKERS": "0"})
    app_id = default_app(s.ctx.db).id
    with s.ctx.db.session() as ses:
        ses.execute(insert(Media), [
            {"id": f"{PREFIX}{i:06d}", "app_id": app_id, "name": name, "size": size, "duration": duration,
             "class_id": class_id, "source_bucket": "vod", "source_key": f"{app_id}/sorted/{i}",
             "media_type": "video", "created_at": utcnow(), "updated_at": utcnow()}
            for i, (name, size, duration, class_id) in enumerate(ROWS)])
    try:
        yield s
    finally:
        s.stop()


def _expected(sort: str, order: str, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """FileIds in the order the API promises: by value then FileId, the direction of ``order``
    for both; media without the value after all the others, by FileId in the same direction."""
    desc = order == "desc"
    key = "id" if sort == "created" else sort
    valued = sorted((r for r in rows if r[1][key] is not None), key=lambda r: (r[1][key], r[0]), reverse=desc)
    valueless = sorted((r for r in rows if r[1][key] is None), key=lambda r: r[0], reverse=desc)
    return [fid for fid, _ in valued + valueless]


def _ours() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{PREFIX}{i:06d}", {"id": f"{PREFIX}{i:06d}", "name": n, "size": s, "duration": d, "class_id": c})
            for i, (n, s, d, c) in enumerate(ROWS)]


def _walk(c: httpx.Client, **params: Any) -> tuple[list[str], int]:
    """Every FileId of a listing, following markers; and the number of pages."""
    seen: list[str] = []
    marker, pages = None, 0
    while True:
        r = c.get("/v1/media", params={**params, **({"marker": marker} if marker else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        assert len(body["items"]) <= params["limit"]
        seen += [m["file_id"] for m in body["items"] if m["file_id"].startswith(PREFIX)]
        marker = body["next_marker"]
        if not marker:
            return seen, pages


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("sort", ["created", "name", "size", "duration"])
def test_every_sort_pages_the_library_once_in_order(srv: InProcessServer, sort: str, order: str) -> None:
    with srv.client() as c:
        seen, pages = _walk(c, sort=sort, order=order, limit=3)
    assert seen == _expected(sort, order, _ours())
    assert pages >= 5  # 13 media by 3: the order holds across page boundaries, ties and NULLs straddling them


def test_the_default_is_newest_first_with_a_file_id_marker(srv: InProcessServer) -> None:
    with srv.client() as c:
        page = c.get("/v1/media", params={"limit": 2}).json()
        assert page["next_marker"] == page["items"][-1]["file_id"]  # today's marker, unchanged
        seen, _pages = _walk(c, limit=4)
    assert seen == _expected("created", "desc", _ours())


@pytest.mark.parametrize("sort", ["name", "size", "duration", "created"])
def test_filters_hold_with_every_sort(srv: InProcessServer, sort: str) -> None:
    rows = [r for r in _ours() if r[1]["class_id"] == 1 and "a" in r[1]["name"]]
    with srv.client() as c:
        for order in ("desc", "asc"):
            seen, _pages = _walk(c, sort=sort, order=order, limit=2, class_id=1, name="A")
            assert seen == _expected(sort, order, rows), order


def test_bad_sort_order_and_markers_are_refused(srv: InProcessServer) -> None:
    with srv.client() as c:
        name_asc = c.get("/v1/media", params={"sort": "name", "order": "asc", "limit": 2}).json()["next_marker"]
        size_desc = c.get("/v1/media", params={"sort": "size", "limit": 2}).json()["next_marker"]
        cases = [
            ({"sort": "bitrate"}, "InvalidParameter.Sort"),
            ({"order": "up"}, "InvalidParameter.Order"),
            ({"sort": "name", "order": "desc", "marker": name_asc}, "InvalidParameter.Marker"),  # another order's
            ({"sort": "duration", "marker": size_desc}, "InvalidParameter.Marker"),  # another sort's
            ({"marker": name_asc}, "InvalidParameter.Marker"),  # a token where a FileId is expected
            ({"sort": "size", "marker": f"{PREFIX}000001"}, "InvalidParameter.Marker"),  # a FileId for a token
            ({"sort": "name", "order": "asc", "marker": "not*base64"}, "InvalidParameter.Marker"),
            ({"sort": "name", "order": "asc", "marker": "eyJzIjoibmFtZSJ9"}, "InvalidParameter.Marker"),  # {"s":"name"}
        ]
        for params, code in cases:
            r = c.get("/v1/media", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.json()["error"]["code"] == code, (params, r.text)


def test_ingest_and_delete_keep_the_sort_keys(srv: InProcessServer, small_clip: Path) -> None:
    with srv.client() as c:
        clip = upload_bytes(c, small_clip.read_bytes(), "keys-clip.mp4")
        text = upload_bytes(c, b"plain text, not media\n" * 20, "keys-notes.txt")
        shown = {m["file_id"]: m for m in c.post("/v1/media/describe", json={"file_ids": [clip, text]}).json()["items"]}
        with srv.ctx.db.session() as s:
            got = {m.id: (m.size, m.duration) for m in s.scalars(select(Media).where(Media.id.in_([clip, text])))}
        assert got[clip][0] == shown[clip]["source"]["size"] == small_clip.stat().st_size
        assert got[clip][1] == pytest.approx(shown[clip]["metadata"]["Duration"], abs=0.1)
        assert got[text] == (len(b"plain text, not media\n" * 20), None)
        # A text file has no duration: last in both orders.
        for order in ("desc", "asc"):
            assert c.get("/v1/media", params={"sort": "duration", "order": order, "name": "keys-", "limit": 5}
                         ).json()["items"][-1]["file_id"] == text
        assert c.delete(f"/v1/media/{clip}", params={"parts": "source"}).status_code == 200
        with srv.ctx.db.session() as s:
            assert s.get(Media, clip).size is None  # type: ignore[union-attr]
        listed = c.get("/v1/media", params={"sort": "size", "order": "asc", "name": "keys-"}).json()["items"]
        assert [m["file_id"] for m in listed] == [text, clip]


def _page_queries(srv: InProcessServer, sort: MediaSort, order: SortOrder) -> Iterator[tuple[Any, str, Any]]:
    """Every statement a walk through the library issues, with its parameters, on one connection."""
    app_id = default_app(srv.ctx.db).id
    with srv.ctx.db.engine.connect() as conn:
        seen: list[tuple[str, Any]] = []

        def grab(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
            seen.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", grab)
        with Session(bind=conn) as s:
            marker = None
            while True:
                _rows, marker = page_of_media(s, app_id, MediaQuery(sort=sort, order=order, limit=4, marker=marker))
                if marker is None:
                    break
        event.remove(conn, "before_cursor_execute", grab)
        conn.rollback()
        for statement, parameters in seen:
            yield conn, statement, parameters


INDEX = {MediaSort.CREATED: "ix_media_app_id_id", MediaSort.NAME: "ix_media_app_name",
         MediaSort.SIZE: "ix_media_app_size", MediaSort.DURATION: "ix_media_app_duration"}


@pytest.mark.parametrize("order", list(SortOrder))
@pytest.mark.parametrize("sort", list(MediaSort))
def test_each_page_is_a_range_of_its_index(srv: InProcessServer, sort: MediaSort, order: SortOrder) -> None:
    plans = []
    for conn, statement, parameters in _page_queries(srv, sort, order):
        params = tuple(parameters) if isinstance(parameters, list | tuple) else parameters
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params))
            # SEARCH with the index: a range from the marker on; no sort of the app's media
            assert f"SEARCH media USING INDEX {INDEX[sort]} (app_id=?" in plan, (statement, plan)
            assert "TEMP B-TREE" not in plan, (statement, plan)
            if sort is not MediaSort.CREATED and f"(media.{sort}, media.id) " in statement:  # after a marker
                assert f"({sort},id)" in plan, (statement, plan)  # from (value, FileId), not from the value
        else:  # PostgreSQL: on a small table a scan is cheapest, so ask whether the index can serve it
            conn.exec_driver_sql("ANALYZE media")  # the share of NULLs, as autovacuum would know it
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
            assert INDEX[sort] in plan and "Seq Scan" not in plan and "Sort" not in plan, (statement, plan)
            if sort is not MediaSort.CREATED and f"(media.{sort}, media.id) " in statement:
                assert re.search(rf"ROW\(\(?{sort}\)?(::text)?, \(id\)::text\) [<>] ROW",
                                 plan.split("Index Cond:")[1]), (statement, plan)  # the range starts at the marker
        conn.rollback()
        plans.append(plan)
    assert len(plans) >= 2  # the first page and the pages after a marker (and the NULL range, if any)
    print(*plans, sep="\n")


def test_the_client_and_the_cli_page_a_sort(srv: InProcessServer, tmp_path: Path) -> None:
    expected = _expected("name", "asc", _ours())
    with Client(srv.url, *srv.auth) as client:
        got = [m.file_id for m in client.iter_media(sort="name", order="asc", page_size=3)]
    assert [f for f in got if f.startswith(PREFIX)] == expected
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(OPENVOD_SERVER=srv.url, HOME=str(tmp_path), OPENVOD_SECRET_ID=srv.secret_id,
               OPENVOD_SECRET_KEY=srv.secret_key)

    def ls(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "openvod", "media", "ls", *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    listed = json.loads(ls("--sort", "name", "--asc", "--all", "--limit", "3", "--json").stdout)["items"]
    assert [m["file_id"] for m in listed if m["file_id"].startswith(PREFIX)] == expected
    first = ls("--sort", "size", "--asc", "--limit", "2")
    hint = first.stderr.strip().rsplit("more: ", 1)[1]  # the command for the next page, sort included
    assert hint.startswith("openvod media ls --sort size --asc --marker "), first.stderr
    marker = hint.rsplit(" ", 1)[1]
    after = json.loads(ls("--sort", "size", "--asc", "--limit", "2", "--marker", marker, "--json").stdout)["items"]
    assert [m["file_id"] for m in after] == _expected("size", "asc", _ours())[2:4]
