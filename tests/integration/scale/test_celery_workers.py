"""Scale-out end to end: an API server with ``executor=celery`` that encodes nothing, two
``openvod worker`` processes with data dirs of their own, PostgreSQL, Redis and an S3 server
(moto). Real services, real FFmpeg, real SIGKILLs."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import Worker, pg_database, redis_url
from tests.conftest import ServerProc, make_server, server_env
from tests.media import make_clip
from tests.procs import alive, cmdline, descendants, ffmpegs_under
from tests.s3server import moto_server
from tests.tus import upload_bytes

METRICS_TOKEN = "metrics-token-0123456789abcdef"

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    api: ServerProc
    workers: list[Worker]
    s3: Any
    bucket_prefix: str
    tmp: Path
    s3_url: str
    clips: dict[str, Path] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return self.api.client()

    def worker_running_ffmpeg(self, timeout: float = 60) -> tuple[Worker, list[int]]:
        deadline = time.monotonic() + timeout
        while True:
            for w in self.workers:
                # An encode, not a `ffmpeg -version` a worker may run when it starts.
                if w.proc is not None and w.proc.poll() is None and (
                        ff := [p for p in ffmpegs_under(w.proc.pid) if " -i " in cmdline(p)]):
                    return w, ff
            assert time.monotonic() < deadline, "no worker started FFmpeg"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("scale")
    run = secrets.token_hex(4)
    with moto_server(tmp / "moto.log") as s3_url:
        extra = {
            "OPENVOD_EXECUTOR": "celery",
            "OPENVOD_BROKER_URL": redis_url(run),
            "OPENVOD_CELERY_QUEUE": f"openvod-test-{run}",
            "OPENVOD_DATABASE_URL": pg_url,
            "OPENVOD_STORAGE": "s3",
            "OPENVOD_S3_ENDPOINT_URL": s3_url,
            "OPENVOD_S3_ACCESS_KEY": "test",
            "OPENVOD_S3_SECRET_KEY": "test",
            "OPENVOD_S3_BUCKET_PREFIX": f"t{run}-",
            "OPENVOD_LEASE_SECONDS": "4",
            "OPENVOD_HEARTBEAT_SECONDS": "1",
            "OPENVOD_SIGNING_KEY": secrets.token_hex(16),
            "OPENVOD_METRICS_TOKEN": METRICS_TOKEN,
        }
        api = make_server(tmp / "api", extra)
        env = server_env(tmp / "api", extra)
        workers = [Worker(tmp / f"w{i}", tmp / f"w{i}.log", env) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.wait_ready()
        s3 = boto3.client("s3", endpoint_url=s3_url, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
        cl = Cluster(api=api, workers=workers, s3=s3, bucket_prefix=f"t{run}-", tmp=tmp, s3_url=s3_url)
        try:
            yield cl
        finally:
            for w in cl.workers:
                w.stop()
            api.stop()


def _wait(c: httpx.Client, task_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        t: dict[str, Any] = c.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 5}).json()
        if t["state"] in ("succ", "fail", "canceled"):
            return t
        assert time.monotonic() < deadline, t


def _media_bytes_on_disk(root: Path) -> list[tuple[str, int]]:
    """Files under ``root`` that could hold media: anything but the keys and logs we expect."""
    out = []
    for p in root.rglob("*"):
        if p.is_file() and p.suffix not in (".key", ".log", ".toml", ".lock") and p.stat().st_size > 0:
            out.append((str(p.relative_to(root)), p.stat().st_size))
    return out


def test_metrics_show_both_worker_nodes_while_idle(cluster: Cluster) -> None:
    # No step runs: the nodes hold no lease, and /metrics still lists them (from the broker).
    r = httpx.get(f"{cluster.api.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text
    samples = [s for f in text_string_to_metric_families(r.text) for s in f.samples]
    assert [s.value for s in samples if s.name == "openvod_broker_up"] == [1.0]
    nodes = {s.labels["node"]: s.value for s in samples if s.name == "openvod_worker_node_concurrency"}
    pids = {f"openvod-{w.proc.pid}@{socket.gethostname()}" for w in cluster.workers if w.proc is not None}
    assert nodes == {pid: 1.0 for pid in pids}, nodes


def test_six_transcodes_survive_a_sigkilled_worker(cluster: Cluster) -> None:
    clip = make_clip(cluster.tmp / "six.mp4", seconds=8, width=960, height=540)
    with cluster.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "six.mp4")
        tids = []
        for i in range(6):
            r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}],
                                          "dst_key": f"six/{i}.mp4"})
            assert r.status_code == 201, r.text
            tids.append(r.json()["task_id"])
        victim, ff = cluster.worker_running_ffmpeg()
        assert victim.proc is not None
        # FFmpeg reads the source from S3 by a presigned URL: no copy on the worker's disk.
        assert f"{cluster.s3_url}/" in cmdline(ff[0]) and "-protocol_whitelist http,https,tcp,tls" in cmdline(ff[0])
        family = [victim.proc.pid, *descendants(victim.proc.pid)]
        victim.kill()  # the worker, its pool process and its FFmpeg: a machine lost mid-encode
        # FFmpeg runs in a process group of its own; it dies with its parent (PR_SET_PDEATHSIG),
        # which the kernel delivers a moment after the pool process is gone.
        deadline = time.monotonic() + 5
        while any(alive(p) for p in ff):
            assert time.monotonic() < deadline, "FFmpeg outlived its killed worker"
            time.sleep(0.02)
        leftovers = _media_bytes_on_disk(victim.data_dir)
        victim.start()  # the machine comes back: it cleans the scratch space the crash left
        done = [_wait(c, t) for t in tids]
        assert [t["state"] for t in done] == ["succ"] * 6, done
        # Exactly one attempt was lost with the worker; no step ran to completion twice.
        assert sorted(t.get("attempts", 1) for t in done)[-1] == 2
        assert sum(t.get("attempts", 1) for t in done) == 7
        events = c.get("/v1/events/recent", params={"limit": 100, "type": "TaskStateChanged"}).json()["items"]
        succ = [e["payload"]["TaskId"] for e in events if e["payload"]["State"] == "succ"]
        assert sorted(succ) == sorted(tids)  # each task finished once
        for i in range(6):
            head = c.head(f"/v1/objects/vod/six/{i}.mp4")
            assert head.status_code == 200 and int(head.headers["content-length"]) > 10_000
        buckets = [b["Name"] for b in cluster.s3.list_buckets()["Buckets"]
                   if b["Name"].startswith(cluster.bucket_prefix)]
        keys = [o["Key"] for b in buckets for o in cluster.s3.list_objects_v2(Bucket=b).get("Contents", [])]
        assert sum(k.endswith(tuple(f"six/{i}.mp4" for i in range(6))) for k in keys) == 6, keys
    assert not any(alive(p) for p in family)
    # No media bytes on any machine's disk: the API's and both workers' data dirs.
    for root in (cluster.api.data_dir, *(w.data_dir for w in cluster.workers)):
        assert _media_bytes_on_disk(root) == [], root
    assert not [p for p, _ in leftovers if p.startswith("spool")]  # the source was never copied to the worker


def test_cancel_reaches_a_running_step_on_a_worker_within_2_s(cluster: Cluster) -> None:
    clip = make_clip(cluster.tmp / "long.mp4", seconds=20, width=1280, height=720)
    with cluster.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "long.mp4")
        r = c.post("/v1/tasks", json={"preset": "system-1080p-h264", "sources": [{"file_id": fid}],
                                      "dst_key": "long/cancelled.mp4"})
        tid = r.json()["task_id"]
        _, ff = cluster.worker_running_ffmpeg()
        t0 = time.monotonic()
        assert c.delete(f"/v1/tasks/{tid}").json()["result"] == "canceled"
        while any(alive(p) for p in ff):
            assert time.monotonic() - t0 < 2.0, "FFmpeg still running on the worker 2 s after the cancel"
            time.sleep(0.02)
        assert c.get(f"/v1/tasks/{tid}").json()["state"] == "canceled"
        assert c.head("/v1/objects/vod/long/cancelled.mp4").status_code == 404


def test_processing_flow_runs_across_workers(cluster: Cluster) -> None:
    clip = make_clip(cluster.tmp / "flow.mp4", seconds=4, width=640, height=360)
    with cluster.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "flow.mp4")
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}],
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}]}})
        assert r.status_code == 201, r.text
        tid = r.json()["task_id"]
        seen = (cluster.tmp / "moto.log").stat().st_size
        assert _wait(c, tid)["state"] == "succ"
        # The workers' FFmpeg read the source by presigned URLs (range requests), never downloading
        # it: every GET of the source while the flow ran is signed in its query, none by header.
        with open(cluster.tmp / "moto.log", "rb") as f:
            f.seek(seen)
            gets = [line for line in f.read().decode(errors="replace").splitlines()
                    if "GET /" in line and f"/{fid}/" in line]
        assert gets and all("X-Amz-Signature=" in line for line in gets), gets
        d = c.get(f"/v1/tasks/{tid}/detail").json()
        assert d["Status"] == "FINISH"
        types = sorted(x["Type"] for x in d["ProcedureTask"]["MediaProcessResultSet"])
        assert types == ["AdaptiveDynamicStreaming", "AnimatedGraphics", "CoverBySnapshot"]
        for item in d["ProcedureTask"]["MediaProcessResultSet"]:
            body = next(v for k, v in item.items() if k != "Type")
            assert body["Status"] == "SUCCESS", item
    for root in (cluster.api.data_dir, *(w.data_dir for w in cluster.workers)):
        assert _media_bytes_on_disk(root) == [], root
