"""Upload throughput over loopback with the project's client, against ``cp`` of the same file.

    bench/run  (or: .venv/bin/python bench/upload_throughput.py [--size-mib 1024] [--repeat 3])

Each is run ``--repeat`` times and medians are compared, since one cp of 1 GiB varies by 4x on
this disk (writeback of earlier runs). The upload is complete when the client has the FileId:
bytes fsynced, media row written, file probed. Prints both times, the throughput ratio, and the
server's RSS before the upload and its peak during it (sampled from /proc every 50 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_server  # noqa: E402

import openvod  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size >> 20):
            f.write(block[i % 97:] + block[: i % 97])  # vary the blocks a little
    os.sync()


def _fmt(runs: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--dir", type=Path, default=Path("bench/out"))
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; medians are compared")
    args = ap.parse_args()
    work = args.dir.resolve() / "upload"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src = work / "big.bin"
    make_file(src, args.size_mib << 20)
    size = src.stat().st_size

    cp_runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run(["cp", str(src), str(work / "copy.bin")], check=True, timeout=600)
        os.sync()
        cp_runs.append(time.perf_counter() - t0)
        (work / "copy.bin").unlink()
        os.sync()
    cp_s = statistics.median(cp_runs)

    (work / "srv").mkdir()
    srv = make_server(work / "srv")
    assert srv.proc is not None
    pid = srv.proc.pid
    base_rss = rss_kib(pid)
    peak = [base_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        up_runs = []
        with openvod.Client(srv.url, srv.secret_id, srv.secret_key, resume_store=work / "resume.json") as c:
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                media = c.upload(src, checksum=False)
                up_runs.append(time.perf_counter() - t0)
                c.delete_media(media.file_id)
                os.sync()
        up_s = statistics.median(up_runs)
    finally:
        done.set()
        sampler.join()
        srv.stop()
    assert media.metadata and media.metadata["Size"] == size

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"file: {size / 2**20:.0f} MiB")
    print(f"cp + sync: median {cp_s:6.2f} s  {size / cp_s / 2**20:7.1f} MiB/s  runs {_fmt(cp_runs)}")
    print(f"upload:    median {up_s:6.2f} s  {size / up_s / 2**20:7.1f} MiB/s  runs {_fmt(up_runs)}")
    print(f"ratio (upload throughput / cp throughput): {cp_s / up_s:.2f}  (target >= 0.40)")
    print(f"server RSS: {base_rss / 1024:.1f} MiB before, peak {peak[0] / 1024:.1f} MiB, "
          f"growth {(peak[0] - base_rss) / 1024:.1f} MiB  (target < 64)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
