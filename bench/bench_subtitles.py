"""What the worst subtitle files cost to convert: seconds and peak memory, first time and cached.

    .venv/bin/python bench/bench_subtitles.py [--megabytes 10]

Each shape is the largest file the server converts (10 MB), built to defeat one step of the conversion:
a single line of unclosed tag starts, millions of empty lines, millions of one-letter lines, millions of
timing lines, millions of closed tags. Each runs in its own process, so the peak RSS printed is that
shape's alone (measured above the process's RSS before the conversion).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from server.library.subtitles import cached_vtt  # noqa: E402

SHAPES = {
    "one line of '<font'": b"<font",
    "one line of '{\\'": b"{\\",
    "only CR": b"\r",
    "only LF": b"\n",
    "'a' lines": b"a\n",
    "closed '{\\}' tags": b"{\\}",
    "timing lines": b"0:0:1-->0:0:2\n",
}


def measure(shape: str, size: int) -> dict:
    """Convert one shape twice in this process: (first, cached) seconds and the peak RSS growth."""
    unit = SHAPES[shape]
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "hostile.srt"
        source.write_bytes(unit * (size // len(unit)))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        cached_vtt(str(source), Path(folder) / "cache")
        first = time.perf_counter() - started
        started = time.perf_counter()
        cached_vtt(str(source), Path(folder) / "cache")
        again = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"first_s": first, "cached_s": again, "peak_mb": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=10)
    parser.add_argument("--shape", help=argparse.SUPPRESS)  # one shape, in a child process
    args = parser.parse_args()
    size = int(args.megabytes * 1024 * 1024)
    if args.shape:
        print(json.dumps(measure(args.shape, size)))
        return
    print(f"{'shape':24} {'first':>8} {'cached':>8} {'peak RSS':>10}   ({args.megabytes:g} MB files)")
    for shape in SHAPES:
        child = subprocess.run(
            [sys.executable, __file__, "--megabytes", str(args.megabytes), "--shape", shape],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(child.stdout)
        print(
            f"{shape:24} {result['first_s']:7.2f}s {result['cached_s'] * 1000:6.2f}ms"
            f" {result['peak_mb']:8.0f} MB"
        )


if __name__ == "__main__":
    main()
