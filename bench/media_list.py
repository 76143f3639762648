"""The media library's sorted listing as it grows: is a page as cheap among a million media as among a thousand?

    .venv/bin/python bench/media_list.py [--sizes 1000,100000,1000000] [--repeat 15]

Fills a fresh SQLite database (the migrations' schema) with media rows by bulk INSERT — one app
holding 90% of them, names, sizes and durations with many ties, 10% without a size and 15%
without a duration — growing it to each size in turn. At each size it times, for every sort and
order, the query of ``GET /v1/media`` (:func:`openvod.services.media_list.page_of_media`, 24 a
page; the JSON rendering is left out, it does not depend on the library's size):

* ``first``: the first page;
* ``deep``: the page after a marker half-way through the media that have the sort value;
* ``nulls``: (size, duration) the page after a marker half-way through the media without one;
* ``ties``: (name) the page after a marker half-way through the 5% of media named ``video.mp4``.

Each figure is the median of ``--repeat`` runs, in milliseconds; the ratio is the largest size's
over the smallest's, ~1x when each page is a range of an index.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.orm import Session  # noqa: E402

from openvod.db.migrate import upgrade  # noqa: E402
from openvod.db.models import Media  # noqa: E402
from openvod.db.session import Database  # noqa: E402
from openvod.domain.media_sort import NULLABLE, MediaSort, SortOrder, encode_marker  # noqa: E402
from openvod.services.media_list import MediaQuery, page_of_media  # noqa: E402

APP, OTHER = "appbench", "appother"
PAGE = 24
WORDS = ["holiday", "interview", "lecture", "trailer", "vlog", "match", "recital", "demo", "launch", "wedding"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(start: int, stop: int, rng: random.Random) -> list[tuple[Any, ...]]:
    out = []
    for i in range(start, stop):
        at = T0 + timedelta(seconds=i)
        name = "video.mp4" if rng.random() < 0.05 else f"{rng.choice(WORDS)}-{rng.randrange(50_000)}.mp4"
        size = None if rng.random() < 0.10 else rng.randrange(1, 5000) * 1_048_576  # MiB: ties
        duration = None if rng.random() < 0.15 else round(rng.uniform(1, 7200), 1)  # tenths: ties
        out.append((f"{int(at.timestamp() * 1000):013d}{i % 1_000_000:06d}", OTHER if i % 10 == 9 else APP, name,
                    size, duration, f"{APP}/bench/{i}.mp4", at.replace(tzinfo=None).isoformat(" ")))
    return out


def _fill(path: Path, start: int, stop: int, rng: random.Random) -> float:
    began = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        for at in range(start, stop, 50_000):
            conn.executemany(
                "INSERT INTO media (id, app_id, name, size, duration, source_key, created_at, updated_at, "
                "description, class_id, source_bucket, media_type, state, source_context, session_context, "
                "procedure, task_priority, task_notify_mode, storage_region) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', 0, 'vod', 'video', 'Normal', '', '', '', 0, 'Finish', '')",
                [(*r, r[-1]) for r in _rows(at, min(stop, at + 50_000), rng)])
    conn.close()
    return time.perf_counter() - began


def _middle_marker(s: Session, sort: MediaSort, order: SortOrder, valued: bool, *where: Any) -> str | None:
    """A marker half-way through the app's media with (``valued``) or without the sort value,
    among those matching ``where``."""
    col = {MediaSort.CREATED: Media.id, MediaSort.NAME: Media.name, MediaSort.SIZE: Media.size,
           MediaSort.DURATION: Media.duration}[sort]
    q = s.query(Media).filter(Media.app_id == APP, col.is_not(None) if valued else col.is_(None), *where)
    count = q.count()
    if not count:
        return None
    keys = (col, Media.id) if valued else (Media.id,)
    row = q.order_by(*(k.desc() if order is SortOrder.DESC else k for k in keys)).offset(count // 2).first()
    assert row is not None
    value = None if sort is MediaSort.CREATED or not valued else getattr(row, col.key)
    return encode_marker(sort, order, value, row.id)


def _time(s: Session, q: MediaQuery, repeat: int) -> float:
    runs = []
    page_of_media(s, APP, q)  # warm: the statement compiled, the index pages cached
    s.expunge_all()
    for _ in range(repeat):
        began = time.perf_counter()
        rows, _marker = page_of_media(s, APP, q)
        runs.append(time.perf_counter() - began)
        assert len(rows) == PAGE
        s.expunge_all()  # each run loads its rows again, as a request would
    return statistics.median(runs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    rng = random.Random(15)
    results: dict[tuple[str, str, str], dict[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="openvod-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        db = Database(f"sqlite:///{path}")
        upgrade(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO app (id, name, sub_app_id, is_default, created_at, callback_method, playback_private) "
                f"VALUES ('{APP}', 'bench', 1, 0, '2026-01-01 00:00:00', 'POST', 1), "
                f"('{OTHER}', 'other', 2, 0, '2026-01-01 00:00:00', 'POST', 1)")
        have = 0
        for n in sizes:
            took = _fill(path, have, n, rng)
            have = n
            print(f"{n:>9,} media: filled in {took:.1f} s", flush=True)
            with Session(db.engine) as s:
                for sort in MediaSort:
                    for order in SortOrder:
                        cases = {"first": None, "deep": _middle_marker(s, sort, order, valued=True)}
                        if sort in NULLABLE:
                            cases["nulls"] = _middle_marker(s, sort, order, valued=False)
                        if sort is MediaSort.NAME:  # inside the 5% named alike: ties by FileId
                            cases["ties"] = _middle_marker(s, sort, order, True, Media.name == "video.mp4")
                        for case, marker in cases.items():
                            q = MediaQuery(sort=sort, order=order, limit=PAGE, marker=marker)
                            results.setdefault((sort.value, order.value, case), {})[n] = _time(s, q, args.repeat)
        db.dispose()
    print(f"\nms per page of {PAGE} (median of {args.repeat}); ratio = {sizes[-1]:,} / {sizes[0]:,}")
    print(f"{'sort':<9}{'order':<6}{'page':<7}" + "".join(f"{n:>12,}" for n in sizes) + f"{'ratio':>8}")
    for (sort_, order_, case), by_size in results.items():
        ratio = by_size[sizes[-1]] / by_size[sizes[0]]
        print(f"{sort_:<9}{order_:<6}{case:<7}" + "".join(f"{by_size[n]:>12.2f}" for n in sizes) + f"{ratio:>7.2f}x")


if __name__ == "__main__":
    main()
