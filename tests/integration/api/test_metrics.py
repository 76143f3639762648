"""GET /metrics (api/metrics.py, services/metrics.py): access, the database metrics, HTTP latency
and upload bytes, scraped from a real in-process server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from openvod.db.models import Task, TaskStep, utcnow
from openvod.services.apps import default_app
from tests.conftest import make_app_server
from tests.servers import InProcessServer
from tests.tus import create, patch

TOKEN = "metrics-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("metrics"),
                        {"OPENVOD_WORKERS": "0", "OPENVOD_METRICS_TOKEN": TOKEN})
    try:
        yield s
    finally:
        s.stop()


def scrape(srv: InProcessServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of one scrape, by (name, sorted labels)."""
    r = httpx.get(f"{srv.url}/metrics", headers=BEARER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_off_without_a_token(tmp_path: Path) -> None:
    s = make_app_server(tmp_path, {"OPENVOD_WORKERS": "0"})
    try:
        r = httpx.get(f"{s.url}/metrics", headers=BEARER, auth=s.auth)
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Metrics"
    finally:
        s.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789abcdef"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}])
def test_refused_without_the_bearer_token(srv: InProcessServer, headers: dict[str, str]) -> None:
    r = httpx.get(f"{srv.url}/metrics", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert "openvod_" not in r.text


def test_an_app_key_pair_is_not_enough(srv: InProcessServer) -> None:
    # Not even the default app's: the labels name every tenant.
    assert httpx.get(f"{srv.url}/metrics", auth=srv.auth).status_code == 401


def _seed(srv: InProcessServer) -> str:
    """One task of the default app with a waiting step, a running step leased by host ``hostA``
    and last renewed 7 s ago, and a step that ran 90 s and finished 10 s ago."""
    ctx = srv.ctx
    app_id = default_app(ctx.db).id
    now = utcnow()
    lease = ctx.settings.lease_seconds
    with ctx.db.session() as s:
        task = Task(id="tk-metrics-1", app_id=app_id, kind="noop", input={})
        s.add(task)
        s.flush()
        s.add_all([
            TaskStep(task_id=task.id, app_id=app_id, idx=0, kind="noop", state="init", input={}),
            TaskStep(task_id=task.id, app_id=app_id, idx=1, kind="noop", state="exec", input={},
                     lease_owner="hostA:123:abc", started_at=now - timedelta(seconds=30),
                     lease_expires_at=now + timedelta(seconds=lease - 7)),
            TaskStep(task_id=task.id, app_id=app_id, idx=2, kind="transcode", state="succ", input={},
                     started_at=now - timedelta(seconds=100), finished_at=now - timedelta(seconds=10)),
            # finished before the window: not counted
            TaskStep(task_id=task.id, app_id=app_id, idx=3, kind="transcode", state="succ", input={},
                     started_at=now - timedelta(hours=2), finished_at=now - timedelta(hours=1)),
            # held until the steps before it succeed (a chunked transcode's join)
            TaskStep(task_id=task.id, app_id=app_id, idx=4, kind="transcode_join", state="wait", input={}),
        ])
    return app_id


def test_queue_durations_and_heartbeats(srv: InProcessServer) -> None:
    app_id = _seed(srv)
    m = scrape(srv)
    assert value(m, "openvod_database_up") == 1
    assert value(m, "openvod_queue_steps", app_id=app_id, state="init") == 1
    assert value(m, "openvod_queue_steps", app_id=app_id, state="exec") == 1
    assert value(m, "openvod_queue_steps", app_id=app_id, state="wait") == 1
    hist = {"kind": "transcode", "state": "succ"}
    assert value(m, "openvod_step_duration_seconds_bucket", le="60", **hist) == 0
    assert value(m, "openvod_step_duration_seconds_bucket", le="120", **hist) == 1
    assert value(m, "openvod_step_duration_seconds_bucket", le="+Inf", **hist) == 1
    assert value(m, "openvod_step_duration_seconds_gcount", **hist) == 1
    assert 89 < value(m, "openvod_step_duration_seconds_gsum", **hist) < 91
    assert value(m, "openvod_worker_running_steps", host="hostA") == 1
    assert 6.5 < value(m, "openvod_worker_heartbeat_age_seconds", host="hostA") < 9
    assert value(m, "process_resident_memory_bytes") > 0


def test_openmetrics_when_asked(srv: InProcessServer) -> None:
    r = httpx.get(f"{srv.url}/metrics", headers={**BEARER, "Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/openmetrics-text")
    assert "# TYPE openvod_step_duration_seconds gaugehistogram" in r.text and r.text.endswith("# EOF\n")


def test_http_latency_by_route_template(srv: InProcessServer) -> None:
    with httpx.Client(base_url=srv.url, auth=srv.auth) as c:
        assert c.get("/v1/tasks/tk-metrics-nope").status_code == 404
        assert c.get("/no/such/path/123").status_code == 404
        assert c.get("/healthz").status_code == 200
    cos = httpx.get(f"{srv.url}/obj", headers={"Host": "vodtest-1250000000.cos.ap-guangzhou.myqcloud.com"})
    assert cos.status_code == 403
    m = scrape(srv)
    name = "openvod_http_request_duration_seconds_count"
    assert value(m, name, method="GET", route="/v1/tasks/{task_id}", status="4xx") >= 1
    assert value(m, name, method="GET", route="/healthz", status="2xx") >= 1
    assert value(m, name, method="GET", route="unmatched", status="4xx") >= 1
    assert value(m, name, method="GET", route="cos", status="4xx") >= 1
    assert not any("/no/such/path" in dict(labels).get("route", "") for _, labels in m)


def test_upload_bytes_counted_per_transport(srv: InProcessServer) -> None:
    before = scrape(srv)
    data = b"x" * 70_000
    with httpx.Client(base_url=srv.url, auth=srv.auth) as c:
        r = create(c, len(data) * 2, filename="a.bin")
        assert r.status_code == 201
        assert patch(c, r.headers["Location"], 0, data).status_code == 204
    s3: Any = boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                           aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                           config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    s3.create_bucket(Bucket="metrics")
    s3.put_object(Bucket="metrics", Key="k", Body=b"y" * 1234)
    after = scrape(srv)
    delta = {t: value(after, "openvod_upload_bytes_total", transport=t) -
             value(before, "openvod_upload_bytes_total", transport=t) for t in ("tus", "s3")}
    assert delta == {"tus": len(data), "s3": 1234}


def test_queue_depth_is_a_range_of_the_queue_index(srv: InProcessServer) -> None:
    query = ("SELECT app_id, state, count(*) FROM task_step WHERE state IN ('exec', 'init', 'wait') "
             "GROUP BY app_id, state")
    with srv.ctx.db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            assert "ix_step_app_queue" in plan and "SCAN task_step " not in plan + " "
        else:  # PostgreSQL: on a near-empty table a scan is cheapest, so ask whether the index can serve it
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row[0]) for row in conn.execute(text(f"EXPLAIN {query}")))
            assert "ix_step_app_queue" in plan and "Seq Scan" not in plan, plan
