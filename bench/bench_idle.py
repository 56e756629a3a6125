"""What a large, idle library costs: the server's CPU while nobody uses it, and how soon changes show.

    .venv/bin/python bench/bench_idle.py [--files 50000] [--idle 60] [--modes notifications,polling]

A folder of `--files` empty files with video names (500 sub-folders; the index lists them without
reading them) is shared by `couchcast serve`, without ffmpeg (COUCHCAST_FFMPEG pointing nowhere: no
thumbnails to make, so what is measured is the index alone). Once the first scan is done, the server
process's CPU time (user + system, from psutil) is taken over `--idle` seconds of nobody asking anything.
Then a new file is made in a nested folder and removed again, and the time until search shows it / stops
showing it is printed: search reads the index only, so that is the scanner's own latency. The JSON API
re-reads a folder when it is listed, so it shows a change at once whatever the scanner does; its figure
is printed too. Mode "polling" is COUCHCAST_WATCH=0, every share read whole every 3 s as before
notifications: the comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.helpers import LiveServer, start_server  # noqa: E402

FOLDERS = 500
MODES = {"notifications": {}, "polling": {"COUCHCAST_WATCH": "0"}}
# Nothing here should take longer; a latency past it is reported as such rather than waited for.
GIVE_UP = 60.0


def make_library(root: Path, files: int) -> None:
    for number in range(files):
        folder = root / f"Show {number % FOLDERS:03d}" / "Season 1"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"Episode {number:05d}.mp4").touch()


def searched(server: LiveServer, words: str) -> bool:
    return b"<h1>0 results for" not in server.request(f"/search?q={quote(words)}").body


def listed(server: LiveServer, folder: str, name: str) -> bool:
    body = server.request(f"/api/folders/1/items?path={quote(folder)}").body
    return any(item["name"] == name for item in json.loads(body)["items"])


def seconds_until(condition) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > GIVE_UP:
            return float("inf")
        time.sleep(0.05)
    return time.monotonic() - started


def run(mode: str, root: Path, home: Path, idle: float, files: int) -> dict[str, float]:
    env = {"COUCHCAST_FFMPEG": "/nonexistent", **MODES[mode]}
    server = start_server([root], home, env=env)
    try:
        last = f"Episode {files - 1:05d}"
        assert seconds_until(lambda: searched(server, last)) < GIVE_UP, "the first scan never finished"
        time.sleep(5)  # let the first scan's aftermath (SQLite checkpoint, garbage) settle
        process = psutil.Process(server.process.pid)
        before = process.cpu_times()
        time.sleep(idle)
        after = process.cpu_times()
        cpu = (after.user - before.user + after.system - before.system) / idle

        deep = root / "Show 007" / "Season 1" / "Extras"
        deep.mkdir()
        new = deep / "Brand new.mp4"
        new.touch()
        new_seen = seconds_until(lambda: searched(server, "Brand new"))
        new.unlink()
        gone_seen = seconds_until(lambda: not searched(server, "Brand new"))
        listed_file = deep / "Listed.mp4"
        listed_file.touch()
        api_new = seconds_until(lambda: listed(server, "Show 007/Season 1/Extras", "Listed.mp4"))
        listed_file.unlink()
        api_gone = seconds_until(lambda: not listed(server, "Show 007/Season 1/Extras", "Listed.mp4"))
        deep.rmdir()
    finally:
        server.stop()
    return {"cpu": cpu, "new": new_seen, "gone": gone_seen, "api_new": api_new, "api_gone": api_gone}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle time measured")
    parser.add_argument("--modes", default="notifications,polling")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="couchcast-idle-") as scratch:
        root = Path(scratch) / "Library"
        started = time.monotonic()
        make_library(root, args.files)
        made = time.monotonic() - started
        print(f"{args.files} empty video files in {FOLDERS} folders made in {made:.1f} s")
        for mode in args.modes.split(","):
            figures = run(mode, root, Path(scratch) / f"home-{mode}", args.idle, args.files)
            print(
                f"{mode:>13}: idle CPU {figures['cpu'] * 100:.2f}% of a core over {args.idle:g} s; "
                f"search shows a new file after {figures['new']:.2f} s, drops a removed one after "
                f"{figures['gone']:.2f} s; JSON API listing: {figures['api_new']:.2f} s / "
                f"{figures['api_gone']:.2f} s"
            )


if __name__ == "__main__":
    main()
