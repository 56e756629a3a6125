"""Time to first frame and to resume after a seek, per playback kind, in headless Chromium; CPU per stream.

Run from the project root:  .venv/bin/python bench/bench_transcode.py [--seconds 120] [--size 1280x720]

For each kind (direct MP4, remux MKV H.264+AC-3, transcode AVI MPEG-4+MP3, transcode MP4 HEVC hev1)
it plays a fresh copy of the file (so nothing is cached: probe, keyframe scan and conversion all
count) through playback.js on a real `couchcast serve`, and measures with requestVideoFrameCallback:
- first frame: from calling Couchcast.startPlayback to the first video frame shown;
- resume: from setting currentTime to a point not converted yet to the first frame shown there.
CPU per stream is the ffmpeg CPU time spent per second of video made (100% = one core busy for a
viewer watching in real time), sampled with psutil on the server's ffmpeg children.
Goals (issue 5): <= 2 s for remux, <= 3 s for transcode.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.transcode.matroska import cue_keyframes  # noqa: E402
from server.transcode.media import _scan_keyframes  # noqa: E402
from server.transcode.segments import SEGMENT_SECONDS  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import make_video, start_server  # noqa: E402
from tests.transcode_media import repeat_video  # noqa: E402

GOP = ["-g", "50"]
ADD_VIDEO = """() => {
  const video = document.createElement('video');
  video.id = 'player';
  video.muted = true;
  document.body.appendChild(video);
}"""
MEASURE = """async ({folder, path, seekTo}) => {
  const video = document.getElementById('player');
  const frameAt = (ready) => new Promise((resolve, reject) => {
    const check = (now, meta) => {
      if (ready(meta)) resolve(performance.now());
      else video.requestVideoFrameCallback(check);
    };
    video.requestVideoFrameCallback(check);
    setTimeout(() => reject(new Error('no frame in 60 s: ' + (video.error && video.error.message))), 60000);
  });
  const started = performance.now();
  const shown = frameAt(() => true);
  const answer = await Couchcast.startPlayback(video, {folder, path});
  await video.play();
  const firstFrame = (await shown) - started;
  await frameAt((meta) => meta.mediaTime > 2);
  const seeked = performance.now();
  const resumed = frameAt((meta) => meta.mediaTime >= seekTo - 0.05);
  video.currentTime = seekTo;
  const resume = (await resumed) - seeked;
  return {kind: answer.plan.kind, firstFrame: firstFrame / 1000, resume: resume / 1000};
}"""


PIECE_SECONDS = 20


def make_files(root: Path, seconds: int, size: str) -> dict[str, Path]:
    """One file per kind, `seconds` long (20 s pieces made by ffmpeg, repeated)."""
    h264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", *GOP]
    x265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=0", *GOP]
    mpeg4 = ["-c:v", "mpeg4", "-q:v", "4", *GOP]
    print(f"Making {seconds} s test files at {size} ...", flush=True)
    pieces = root / "pieces"
    times = max(1, round(seconds / PIECE_SECONDS))
    kinds = {
        "direct": ("direct.mp4", h264, ["-c:a", "aac"], ["-movflags", "+faststart"]),
        "remux": ("remux.mkv", h264, ["-c:a", "ac3"], []),
        "transcode (MPEG-4 AVI)": ("mpeg4.avi", mpeg4, ["-c:a", "libmp3lame"], []),
        "transcode (HEVC hev1)": ("hevc.mp4", x265, ["-c:a", "aac"], ["-tag:v", "hev1"]),
    }
    files = {}
    for label, (name, video, audio, extra) in kinds.items():
        piece = make_video(pieces / name, PIECE_SECONDS, size=size, video=video, audio=audio)
        files[label] = repeat_video(piece, times, root / "src" / name, extra)
    return files


class CpuSampler:
    """Adds up the CPU time of the server's ffmpeg children, sampled every 0.1 s (they come and go)."""

    def __init__(self, server_pid: int):
        self.server = psutil.Process(server_pid)
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for child in self.server.children(recursive=True):
                try:
                    if "ffmpeg" in child.name():
                        times = child.cpu_times()
                        self.last[child.pid] = times.user + times.system
                except psutil.Error:
                    continue
            time.sleep(0.1)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.last.values())


def media_seconds_made(home: Path) -> float:
    """Seconds of video in the finished segments, from the lists ffmpeg wrote.

    Each list gives segment end times; its first entry's start is 0 whatever the process's start
    (its -output_ts_offset is not counted there), so the first segment counts as a median one.
    """
    total = 0.0
    for listing in (home / "cache" / "hls").rglob("segments.csv"):
        ends = [
            float(line.split(",")[2]) for line in listing.read_text().splitlines() if line.count(",") == 2
        ]
        lengths = [later - earlier for earlier, later in zip(ends, ends[1:], strict=False)]
        total += sum(lengths) + (statistics.median(lengths) if lengths else SEGMENT_SECONDS * len(ends))
    return total


def keyframe_reading(source: Path, workdir: Path) -> tuple[float, float, float]:
    """(MB, s to read the Matroska index, s to scan the packets) for the keyframes a remux needs."""
    big = repeat_video(source, 20, workdir / "big.mkv")
    started = time.perf_counter()
    if cue_keyframes(str(big)) is None:
        raise SystemExit("the big MKV has no usable cues")
    from_index = time.perf_counter() - started
    started = time.perf_counter()
    _scan_keyframes(str(big), 0)
    scan = time.perf_counter() - started
    megabytes = big.stat().st_size / 1e6
    big.unlink()
    return megabytes, from_index, scan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="length of each test file")
    parser.add_argument("--size", default="1280x720", help="frame size of the test files")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    seek_to = args.seconds * 0.6

    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="couchcast-bench-"))
    try:
        files = make_files(workdir, args.seconds, args.size)
        library = workdir / "library"
        library.mkdir()
        home = workdir / "home"
        server = start_server([library], home)
        results: dict[str, list[dict]] = {}
        try:
            folder = json.loads(server.request("/api/folders").body)["folders"][0]["id"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for label, source in files.items():
                    for trial in range(args.trials):
                        # A fresh name: nothing of this file is cached in the server.
                        name = f"{source.stem}-{trial}{source.suffix}"
                        shutil.copy(source, library / name)
                        context = browser.new_context()
                        context.add_cookies(
                            [{"name": "couchcast_key", "value": server.key, "url": server.url}]
                        )
                        page = context.new_page()
                        page.goto(server.url + "/")
                        page.evaluate(ADD_VIDEO)
                        page.add_script_tag(url="/static/couchcast/playback.js")
                        shutil.rmtree(home / "cache" / "hls", ignore_errors=True)
                        with CpuSampler(server.process.pid) as cpu:
                            figures = page.evaluate(
                                MEASURE, {"folder": folder, "path": name, "seekTo": seek_to}
                            )
                            page.wait_for_timeout(3000)
                        made = media_seconds_made(home)
                        figures["cpu"] = cpu.seconds / made * 100 if made else None
                        results.setdefault(label, []).append(figures)
                        print(f"  {label:24} trial {trial + 1}: {figures}", flush=True)
                        context.close()
                browser.close()
        finally:
            server.stop()

        megabytes, from_index, scan = keyframe_reading(files["remux"], workdir)
        load = ", ".join(f"{value:.2f}" for value in psutil.getloadavg())
        print()
        print(f"{args.trials} trials per kind, {args.seconds} s {args.size} files, seek to {seek_to:.0f} s;")
        print(f"{psutil.cpu_count()} cores, load average {load} at the end.")
        header = f"{'kind':24} {'plan':10} {'first frame s (med/max)':>24} {'resume s (med/max)':>20}"
        print(f"{header} {'CPU/stream':>12}")
        for label, runs in results.items():
            first = [r["firstFrame"] for r in runs]
            resume = [r["resume"] for r in runs]
            cpus = [r["cpu"] for r in runs if r["cpu"] is not None]
            cpu = f"{statistics.median(cpus):.0f}% core" if cpus else "none"
            print(
                f"{label:24} {runs[0]['kind']:10} {statistics.median(first):>13.2f} / {max(first):<8.2f}"
                f" {statistics.median(resume):>10.2f} / {max(resume):<7.2f} {cpu:>12}"
            )
        print(
            f"Keyframes a remux needs first, {megabytes:.0f} MB MKV: index {from_index * 1000:.0f} ms,",
            end="",
        )
        print(f" packet scan (MP4, AVI, no cues) {scan:.2f} s = {megabytes / scan:.0f} MB/s (warm cache).")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
