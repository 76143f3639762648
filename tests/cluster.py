"""Scale-out test and benchmark parts: ``openvod worker`` processes and throwaway PostgreSQL
databases (real services: the PostgreSQL and Redis that scripts/start-services makes sure of)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

__all__ = ["PG_ADMIN", "REDIS", "Worker", "pg_database", "redis_url"]

PG_ADMIN = os.environ.get("OPENVOD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("OPENVOD_TEST_REDIS", "redis://127.0.0.1:6379")


@contextmanager
def pg_database(prefix: str = "openvod_scale") -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; yields its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url(run: str) -> str:
    """A Redis database for one test run (db 9-15 by the run's hash; queues are named per run too)."""
    return f"{REDIS}/{9 + int(run, 16) % 7}"


@dataclass
class Worker:
    """An ``openvod worker`` process with a data dir (scratch space) of its own."""

    data_dir: Path
    log: Path
    env: dict[str, str]
    concurrency: int = 1
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")  # noqa: SIM115 - handed to the child
        env = {**self.env, "OPENVOD_DATA_DIR": str(self.data_dir)}
        # A session of its own: tests kill the worker with its pool and FFmpeg, as a machine dies.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openvod", "worker", "--concurrency", str(self.concurrency)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def ready(self) -> bool:
        return "ready." in self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.proc is not None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
