"""Schemathesis against a running OpenVOD's ``/openapi.json``: the CI fuzz test and the long run.

Runs the third-party ``st`` CLI (schemathesis, installed with the test extras) as a child with
HTTP Basic credentials, so every operation is exercised authenticated, and reads the HAR report
it writes to count the requests and the statuses the server answered.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FuzzRun", "run_schemathesis"]


@dataclass(frozen=True)
class FuzzRun:
    returncode: int
    statuses: dict[int, int]  # HTTP status -> responses
    output: str  # the CLI's summary (its last lines)
    server_error_requests: tuple[str, ...] = ()  # "METHOD url -> status" of every response >= 500

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def run_schemathesis(base_url: str, auth: tuple[str, str], work: Path, *, max_examples: int,
                     phases: str = "examples,fuzzing", seed: int = 1, timeout: float = 3600.0,
                     max_time: int | None = None, skip_long_polls: bool = False) -> FuzzRun:
    """Fuzz every operation of the server's OpenAPI document; the check is ``not_a_server_error``."""
    work.mkdir(parents=True, exist_ok=True)
    har = work / "run.har"
    st = Path(sys.executable).with_name("st")
    argv = [str(st), "run", f"{base_url}/openapi.json", "--auth", f"{auth[0]}:{auth[1]}",
            "--checks", "not_a_server_error", "--max-examples", str(max_examples), "--workers", "1",
            # Long-polls may wait 60 s: a shorter client timeout would count them as errors.
            "--phases", phases, "--seed", str(seed), "--no-shrink", "--request-timeout", "75",
            "--report", "har", "--report-har-path", str(har)]
    # Disabling a key is tested elsewhere; here it would lock the fuzzer out of everything.
    excluded = [r"/v1/keys/[^/]+/disable"]
    if skip_long_polls:
        # Schemathesis hill-climbs towards slow responses: on GET /v1/tasks/{id}/wait it learns
        # to ask for the 60 s maximum every time, and a long run would spend hours waiting.
        excluded.append(r"/v1/tasks/[^/]+/wait")
    argv += ["--exclude-path-regex", f"^({'|'.join(excluded)})$"]
    if max_time is not None:
        argv += ["--max-time", str(max_time)]
    proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=timeout)
    (work / "st-output.txt").write_text(proc.stdout + proc.stderr)
    statuses: collections.Counter[int] = collections.Counter()
    failing: list[str] = []
    if har.exists():
        for entry in json.loads(har.read_text())["log"]["entries"]:
            status = int(entry["response"]["status"])
            statuses[status] += 1
            if status >= 500 or status == 0:
                req = entry["request"]
                failing.append(f"{req['method']} {req['url']} -> {status}")
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    return FuzzRun(proc.returncode, dict(statuses), tail, tuple(failing))
