"""Size and cold start of the one-file executable: time from launch to the first HTTP answer.

    .venv/bin/python bench/bench_startup.py [--exe dist/Couchcast] [--runs 5]

Each run is a new process in a fresh TMPDIR, so the one-file build extracts itself every time, as it
does when a person double-clicks it; the OS page cache stays warm (nothing here can drop it on a shared
machine), so these are best cases for the disk. The first launch with a fresh COUCHCAST_HOME (database
created, ffmpeg unpacked into the cache) is timed on its own and left out of the median.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.helpers import free_port, make_video  # noqa: E402

DEFAULT_EXE = PROJECT_ROOT / "dist" / ("Couchcast.exe" if os.name == "nt" else "Couchcast")


def first_answer_seconds(exe: Path, folder: Path, home: Path, tmpdir: Path) -> float:
    """Launch `exe serve`, wait for any HTTP answer, stop it with SIGTERM; seconds to that answer."""
    port = free_port()
    env = {"PATH": "", "COUCHCAST_HOME": str(home), "TMPDIR": str(tmpdir), "TEMP": str(tmpdir)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(exe), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--access-key", "bench"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{exe} exited with {process.returncode} before answering")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
            finally:
                connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, default=DEFAULT_EXE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.exe.is_file():
        raise SystemExit(f"{args.exe} does not exist: build it first (bash scripts/build-exe.sh)")

    with tempfile.TemporaryDirectory(prefix="couchcast-bench-") as scratch:
        scratch_path = Path(scratch)
        folder = scratch_path / "Videos"
        make_video(folder / "clip.mp4", 2)
        home = scratch_path / "home"
        first = first_answer_seconds(args.exe, folder, home, Path(tempfile.mkdtemp(dir=scratch)))
        time.sleep(5)  # let the first run's background work (ffmpeg unpack, thumbnails) finish elsewhere
        timings = []
        for _ in range(args.runs):
            tmpdir = Path(tempfile.mkdtemp(dir=scratch))
            timings.append(first_answer_seconds(args.exe, folder, home, tmpdir))
            leftovers = list(tmpdir.iterdir())
            if leftovers:
                print(f"warning: left behind in TMPDIR: {leftovers}")

    size = args.exe.stat().st_size
    print(f"executable:   {args.exe} ({size / 1e6:.1f} MB)")
    print(f"first launch: {first:.2f} s to the first HTTP answer (fresh COUCHCAST_HOME)")
    print(f"cold starts:  {', '.join(f'{t:.2f}' for t in timings)} s")
    print(f"median:       {statistics.median(timings):.2f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
