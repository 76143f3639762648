"""The long API fuzzing run: schemathesis against a real ``openvod serve``, authenticated.

    bench/run fuzz      (or: .venv/bin/python bench/fuzz_api.py [--examples 200] [--seed 1])

Not a speed benchmark: it reports how many requests were made, the statuses the server answered
and how many were 5xx (the target is 0), plus the server's RSS before and after. The long-poll ``/v1/tasks/{id}/wait``
is left to the CI test: schemathesis steers towards slow responses, which there means 60 s each. The CI test
(tests/security/test_api_fuzz.py) runs the same thing with a budget of a few hundred requests.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_server  # noqa: E402
from tests.fuzz import run_schemathesis  # noqa: E402


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=200, help="max examples per operation and phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phases", default="examples,coverage,fuzzing")
    args = ap.parse_args()
    # Kept after the run: the HAR of every request, schemathesis' output and the server's log.
    tmp = tempfile.mkdtemp(prefix="openvod-fuzz-")
    srv = make_server(Path(tmp) / "srv", {"OPENVOD_WORKERS": "1"})
    try:
        assert srv.proc is not None
        rss0 = _rss_mb(srv.proc.pid)
        t0 = time.perf_counter()
        run = run_schemathesis(srv.url, srv.auth, Path(tmp) / "st", max_examples=args.examples,
                               phases=args.phases, seed=args.seed, timeout=4 * 3600, skip_long_polls=True)
        elapsed = time.perf_counter() - t0
        rss1 = _rss_mb(srv.proc.pid)
        alive = srv.proc.poll() is None
    finally:
        srv.stop()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"schemathesis: {args.phases}, {args.examples} examples per operation, seed {args.seed}")
    print(f"requests: {run.requests} in {elapsed:.0f} s ({run.requests / elapsed:.1f}/s)")
    print("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items())))
    print(f"responses >= 500: {run.server_errors}; schemathesis exit status {run.returncode}")
    print(f"server RSS: {rss0:.0f} MB -> {rss1:.0f} MB; server alive at the end: {alive}")
    print(f"kept in {tmp}: st/run.har, st/st-output.txt, srv/server.log")
    for line in run.server_error_requests:
        print("  5xx/no answer:", line[:300])
    if run.server_errors or run.returncode:
        print(run.output)
        sys.exit(1)


if __name__ == "__main__":
    main()
