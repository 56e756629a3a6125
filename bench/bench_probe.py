"""The probe with PyAV against the `ffmpeg -i` scraper it replaced: time per file, and a folder.

    .venv/bin/python bench/bench_probe.py [--rounds 5] [--folder-files 500]

Makes the test corpus (tests/probe_corpus.py: H.264, HEVC HDR10/HLG/Dolby Vision, interlaced TS,
subtitle tracks, sound files...) in a temporary folder and prints, for each probe, the median time
per file over the corpus (each file's best of `--rounds`). Then it copies those files into a folder
of `--folder-files` files and times describing it end to end the way the scanner's worker does:
probe every file, one after the other (thumbnails left out: they run ffmpeg either way).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from server.library.probe import ProbeError, probe  # noqa: E402
from tests import ffmpeg_text_probe  # noqa: E402
from tests.probe_corpus import BROKEN, make_corpus  # noqa: E402


def best_of(function: Callable[[str], object], path: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        with contextlib.suppress(ProbeError):
            function(path)
        best = min(best, time.perf_counter() - started)
    return best


def folder_time(function: Callable[[str], object], paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with contextlib.suppress(ProbeError):
            function(str(path))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder-files", type=int, default=500)
    args = parser.parse_args()
    probes = {"PyAV": probe, "ffmpeg -i": ffmpeg_text_probe.probe}
    with tempfile.TemporaryDirectory() as work:
        corpus = make_corpus(Path(work) / "corpus")
        readable = [path for name, path in sorted(corpus.items()) if name not in BROKEN]
        print(f"{len(corpus)} files ({len(readable)} readable, {len(corpus) - len(readable)} broken)")
        print(f"{'':10} {'median':>9} {'min':>9} {'max':>9}   per file, best of {args.rounds}")
        for name, function in probes.items():
            times = {file: best_of(function, str(path), args.rounds) for file, path in corpus.items()}
            slowest = max(times, key=times.__getitem__)
            print(
                f"{name:10} {statistics.median(times.values()) * 1000:7.2f} ms "
                f"{min(times.values()) * 1000:7.2f} ms {times[slowest] * 1000:7.2f} ms ({slowest})"
            )
        folder = Path(work) / "folder"
        folder.mkdir()
        files = []
        for number in range(args.folder_files):
            source = readable[number % len(readable)]
            target = folder / f"{number:04d}-{source.name}"
            shutil.copyfile(source, target)
            files.append(target)
        print(f"a folder of {len(files)} files, probed one after the other:")
        for name, function in probes.items():
            seconds = folder_time(function, files)
            print(f"{name:10} {seconds:7.2f} s ({seconds / len(files) * 1000:.1f} ms a file)")


if __name__ == "__main__":
    main()
