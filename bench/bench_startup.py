"""Size and cold start of the one-file executable: time from launch to the first HTTP answer.

    .venv/bin/python bench/bench_startup.py [--exe dist/Couchcast [--exe OTHER ...]] [--runs 5]

Each run is a new process in a fresh TMPDIR, so the one-file build extracts itself every time, as it
does when a person double-clicks it; the OS page cache stays warm (nothing here can drop it on a shared
machine), so these are best cases for the disk. The first launch with a fresh COUCHCAST_HOME (database
created, ffmpeg unpacked into the cache) is timed on its own and left out of the median. Several
executables (build variants) are run in turns, so a machine that gets busier mid-way weighs on each alike.
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
    parser.add_argument("--exe", type=Path, action="append", help=f"an executable (default {DEFAULT_EXE})")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    executables = args.exe or [DEFAULT_EXE]
    for exe in executables:
        if not exe.is_file():
            raise SystemExit(f"{exe} does not exist: build it first (bash scripts/build-exe.sh)")

    with tempfile.TemporaryDirectory(prefix="couchcast-bench-") as scratch:
        scratch_path = Path(scratch)
        folder = scratch_path / "Videos"
        make_video(folder / "clip.mp4", 2)
        homes = {exe: scratch_path / f"home-{number}" for number, exe in enumerate(executables)}
        first = {
            exe: first_answer_seconds(exe, folder, homes[exe], Path(tempfile.mkdtemp(dir=scratch)))
            for exe in executables
        }
        time.sleep(5)  # let the first runs' background work (ffmpeg unpack, thumbnails) finish
        timings: dict[Path, list[float]] = {exe: [] for exe in executables}
        for _ in range(args.runs):
            for exe in executables:
                tmpdir = Path(tempfile.mkdtemp(dir=scratch))
                timings[exe].append(first_answer_seconds(exe, folder, homes[exe], tmpdir))
                if leftovers := list(tmpdir.iterdir()):
                    print(f"warning: {exe} left {leftovers} behind in TMPDIR")

    for exe in executables:
        print(f"executable:   {exe} ({exe.stat().st_size / 1e6:.1f} MB)")
        print(f"first launch: {first[exe]:.2f} s to the first HTTP answer (fresh COUCHCAST_HOME)")
        print(f"cold starts:  {', '.join(f'{t:.2f}' for t in timings[exe])} s")
        print(f"median:       {statistics.median(timings[exe]):.2f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
