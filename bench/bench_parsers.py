"""What the worst inputs cost the text parsers: a Range header and ffmpeg's description of a file.

    .venv/bin/python bench/bench_parsers.py [--header-kb 256] [--ffmpeg-kb 1024]

Each shape repeats one piece up to the largest input the parser meets: waitress accepts 256 KB of
request headers, and ffmpeg prints a file's metadata whole (1 MB is a generous file). The figure is
the CPU time of one parse (the least of three), during which the GIL is held and every other request
waits. Before the parsers were made linear, the blank and line shapes grew with the square of the
length: a 32 KB header of blanks took 0.89 s (about a minute at 256 KB), 64 KB of blank lines from
ffmpeg 5.3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from server.library.probe import stream_names  # noqa: E402
from server.streaming.ranges import Unsatisfiable, parse_range_header  # noqa: E402

# (prefix, repeated piece, suffix)
HEADER_SHAPES = {
    "blanks, then 'x'": ("bytes=", " ", "x"),
    "blanks around a number": ("bytes=", " ", "1 x"),
    "thousands of '0-0,'": ("bytes=", "0-0,", ""),
    "one huge number": ("bytes=", "9", "-"),
    "empty list elements": ("bytes=", ",", "0-1"),
}
FFMPEG_SHAPES = {
    "blank lines": ("", "\n", ""),
    "'Input #0, a' lines": ("", "Input #0, a\n", ""),
    "'Stream #0:0(' lines": ("", "Stream #0:0(\n", ""),
    "blank metadata lines": ("  Stream #0:0: Video: h264\n", " \n", ""),
    "'title' lines": ("  Stream #0:0: Video: h264\n", "    title           : x\n", ""),
}


def parse_header(header: str) -> None:
    with contextlib.suppress(Unsatisfiable):
        parse_range_header(header, 10**12)


def cpu_seconds(parse: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        parse(text)
        best = min(best, time.process_time() - started)
    return best


def report(title: str, parse: Callable[[str], object], shapes: dict, kilobytes: int) -> None:
    print(f"{title} ({kilobytes} KB)")
    for name, (prefix, piece, suffix) in shapes.items():
        text = prefix + piece * (kilobytes * 1024 // len(piece)) + suffix
        print(f"  {name:28} {cpu_seconds(parse, text) * 1000:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--header-kb", type=int, default=256)
    parser.add_argument("--ffmpeg-kb", type=int, default=1024)
    args = parser.parse_args()
    report("Range header", parse_header, HEADER_SHAPES, args.header_kb)
    # Since the probe reads files with PyAV, only its fallback (streams without a decoder in PyAV)
    # reads ffmpeg's text, and only their names.
    report("ffmpeg -i text (probe fallback)", stream_names, FFMPEG_SHAPES, args.ffmpeg_kb)


if __name__ == "__main__":
    main()
