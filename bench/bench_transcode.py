"""Conversions for a household: first frame, seeks, CPU per stream and concurrent viewers (issue 10).

    .venv/bin/python bench/bench_transcode.py            # the full run (about 10 minutes)
    .venv/bin/python bench/bench_transcode.py --quick    # a short run (about 3 minutes)

Films, made at the start and cached for the run (`--films DIR` keeps them for the next run), encoded
like real ones by tests.films (B-frames, keyframes 2-10 s apart at random, AC-3 5.1, a time code):
- a 2-hour MKV, H.264 + AC-3, small in pixels (320x180) but real in structure: a few minutes encoded,
  repeated by stream copy. The browser cannot play AC-3: it is remuxed (video copied, sound to AAC);
- a 720p HEVC MP4 (x265, open GOPs), a minute repeated: Chromium plays no HEVC, so it is transcoded.
Each viewer has a file of its own (a hard link under another name), so nothing is shared between them.

1. In headless Chromium, through /static/couchcast/playback.js on a real `couchcast serve` (native
   HLS), timed with requestVideoFrameCallback: first frame (from Couchcast.startPlayback to the first
   frame shown; the file's timeline is read then, as for a file never played), and first frame after
   a seek (to 1:30:00 in the 2-hour film, well inside the HEVC one: from setting currentTime to the
   first frame at that time). CPU per stream: CPU-seconds of the server's conversion processes
   (psutil, sampled every 0.1 s) per second of film in the segments they made.
2. Viewers paced like real players, in Python (http.client, one thread each): each fetches its
   playlist with ?key=..., then the signed segment URIs it lists (no cookie), one at a time, keeping
   3 segments ahead of a playhead that moves in real time; once during the run it seeks (jumps its
   playhead far ahead). Stall is the time its playhead wanted a segment not fetched yet, after the
   first one arrived: waiting for the first segment after the seek, and rebuffering. Goal: 4 remux
   and 2 transcode viewers at once, each with at most 2 s of stall in 60 s of playback. Then the
   transcode viewers are increased (4 remux still playing) until one rebuffers more than 2 s or the
   server answers 503 (no room). Two capacities are printed: every stall (seek waits included)
   within 2 s, and playback keeping up (rebuffering within 2 s; a seek's wait, which grows with the
   source's keyframe interval, aside). Every step has a fresh server (same library and home), so no
   process or segment of the step before is left.

The machine may be shared: figures are as noisy as its load, printed before and after each step.
The server's log (ffmpeg processes started and ended, warnings) is summed up per step; `--keep`
keeps the whole work folder (films, the server's COUCHCAST_HOME and its log) for a closer look.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import psutil  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.films import make_film  # noqa: E402
from tests.helpers import LiveServer, keyed_context, start_server, wait_for  # noqa: E402
from tests.transcode_media import repeat_video  # noqa: E402

BUFFER_SEGMENTS = 3  # a player keeps this many segments fetched ahead of its playhead
STALL_GOAL = 2.0  # seconds of stall allowed per viewer
REMUX_VIEWERS = 4
TRANSCODE_GOAL = 2  # transcode viewers the goal asks for, next to REMUX_VIEWERS
REMUX_SEEK = 5400.0  # 1:30:00 in the 2-hour film
REQUEST_TIMEOUT = 90  # the server waits up to 60 s for a segment (scheduler.SEGMENT_TIMEOUT)


@dataclass
class Settings:
    remux_piece: float  # seconds encoded, then repeated to 2 hours
    hevc_piece: float
    hevc_repeats: int
    trials: int  # browser trials per film (section 1)
    playback: float  # seconds of playback per viewer (section 2)
    most_transcodes: int  # the capacity search stops here


FULL = Settings(remux_piece=240, hevc_piece=60, hevc_repeats=20, trials=2, playback=60, most_transcodes=6)
QUICK = Settings(remux_piece=120, hevc_piece=30, hevc_repeats=20, trials=1, playback=30, most_transcodes=3)


# ---------------------------------------------------------------- films


@dataclass
class Films:
    remux: Path  # the 2-hour MKV
    hevc: Path  # the 720p HEVC film
    remux_seconds: float
    hevc_seconds: float


def make_films(folder: Path, settings: Settings) -> Films:
    """The two films, made once per folder (an existing one of the same recipe is reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    repeats = round(7200 / settings.remux_piece)
    remux = folder / f"film-2h-{settings.remux_piece:g}x{repeats}.mkv"
    hevc = folder / f"hevc-720p-{settings.hevc_piece:g}x{settings.hevc_repeats}.mp4"
    if not remux.exists():
        print(f"Making the 2-hour MKV ({settings.remux_piece:g} s encoded, repeated {repeats}x)…", flush=True)
        piece = make_film(folder / "pieces" / remux.name, settings.remux_piece)
        repeat_video(piece, repeats, remux)
    if not hevc.exists():
        print(f"Making the 720p HEVC film ({settings.hevc_piece:g} s encoded, repeated)…", flush=True)
        piece = make_film(folder / "pieces" / hevc.name, settings.hevc_piece, codec="hevc", size="1280x720")
        repeat_video(piece, settings.hevc_repeats, hevc, ["-tag:v", "hvc1"])
    shutil.rmtree(folder / "pieces", ignore_errors=True)
    return Films(remux, hevc, settings.remux_piece * repeats, settings.hevc_piece * settings.hevc_repeats)


def link_into(library: Path, source: Path, name: str) -> str:
    """`source` under another name in the library (a hard link: a file of its own for the server)."""
    target = library / (name + source.suffix)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy(source, target)
    return target.name


# ---------------------------------------------------------------- the server


class Server:
    """`couchcast serve` on the library, restarted on demand with the same home (index, timelines)."""

    def __init__(self, library: Path, home: Path) -> None:
        self.library = library
        self.home = home
        self.live: LiveServer | None = None
        self.folder = 0

    def start(self) -> LiveServer:
        self.stop()
        self.live = start_server([self.library], self.home)
        self.folder = json.loads(self.live.request("/api/folders").body)["folders"][0]["id"]
        return self.live

    def stop(self) -> None:
        if self.live is not None:
            with contextlib.suppress(Exception):
                self.live.stop(20)
            self.live = None

    def wait_described(self, timeout: float = 300) -> None:
        """Until the scanner has probed every file and made its thumbnail (its ffmpeg runs are done)."""

        def all_described() -> bool:
            body = json.loads(self.live.request(f"/api/folders/{self.folder}/items?path=").body)
            return all(item.get("described") for item in body["items"] if item["type"] == "video")

        wait_for(all_described, timeout)

    def log_path(self) -> Path:
        return self.home / "logs" / "couchcast.log"

    def log_offset(self) -> int:
        with contextlib.suppress(OSError):
            return self.log_path().stat().st_size
        return 0

    def log_since(self, offset: int) -> list[str]:
        with contextlib.suppress(OSError), open(self.log_path(), "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace").splitlines()
        return []


def conversion_processes(server_pid: int) -> list[psutil.Process]:
    """The server's ffmpeg processes that convert for a viewer (they write NUT to a pipe)."""
    found = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(server_pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                command = child.cmdline()
                if command and "nut" in command and "pipe:1" in command:
                    found.append(child)
    return found


class ConversionMeter:
    """CPU of each conversion process (by its source file) and the segments written, sampled every 0.1 s.

    A process that ends between two samples loses at most 0.1 s of its CPU time to this count.
    """

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (source file, CPU-s)
        self.segments: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        hls = self.server.home / "cache" / "hls"
        while not self._stop.is_set():
            for process in conversion_processes(self.server.process.pid):
                with contextlib.suppress(psutil.Error):
                    command = process.cmdline()
                    source = command[command.index("-i") + 1]
                    times = process.cpu_times()
                    self.cpu[process.pid] = (source, times.user + times.system)
            with contextlib.suppress(OSError):
                self.segments.update(hls.glob("*/*.ts"))
            self._stop.wait(0.1)

    def __enter__(self) -> ConversionMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_of(self, name: str) -> float:
        return sum(cpu for source, cpu in self.cpu.values() if os.path.basename(source) == name)

    def total_cpu(self) -> float:
        return sum(cpu for _, cpu in self.cpu.values())


@dataclass
class Playlist:
    lengths: list[float]  # seconds of film per segment
    uris: list[str]

    @property
    def starts(self) -> list[float]:
        starts, total = [], 0.0
        for length in self.lengths:
            starts.append(total)
            total += length
        return starts


def parse_playlist(text: str) -> Playlist:
    lengths, uris = [], []
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            lengths.append(float(line[len("#EXTINF:") :].split(",")[0]))
        elif line and not line.startswith("#"):
            uris.append(line)
    return Playlist(lengths, uris)


def playlist_path(server: Server, name: str, kind: str) -> str:
    return f"/hls/{server.folder}/{quote(name)}/{kind}.m3u8"


# ---------------------------------------------------------------- 1. first frame in Chromium

ADD_VIDEO = """() => {
  const video = document.createElement('video');
  video.id = 'player';
  video.muted = true;
  document.body.appendChild(video);
}"""
MEASURE = """async ({folder, path, seekTo}) => {
  const video = document.getElementById('player');
  const frameAt = (ready, what) => new Promise((resolve, reject) => {
    const check = (now, meta) => {
      if (ready(meta)) resolve(performance.now());
      else video.requestVideoFrameCallback(check);
    };
    video.requestVideoFrameCallback(check);
    setTimeout(() => reject(new Error('no frame ' + what + ' in 90 s: '
                                      + (video.error && video.error.message))), 90000);
  });
  const started = performance.now();
  const shown = frameAt(() => true, 'at the start');
  const answer = await Couchcast.startPlayback(video, {folder, path});
  await video.play();
  const firstFrame = (await shown) - started;
  await frameAt((meta) => meta.mediaTime > 2, 'past 2 s');
  const seeked = performance.now();
  const resumed = frameAt((meta) => meta.mediaTime >= seekTo - 0.05, 'after the seek');
  video.currentTime = seekTo;
  const resume = (await resumed) - seeked;
  return {kind: answer.plan.kind, firstFrame: firstFrame / 1000, resume: resume / 1000};
}"""
PLAY_ON_SECONDS = 12  # played after the seek, so that CPU per stream covers a steady stretch


@dataclass
class FirstFrames:
    label: str
    seek_to: float
    kind: str = ""
    first: list[float] = field(default_factory=list)
    resume: list[float] = field(default_factory=list)
    cpu_per_second: list[float] = field(default_factory=list)  # CPU-s per second of film made
    film_made: list[float] = field(default_factory=list)


def first_frames(server: Server, films: Films, names: dict[str, list[str]], settings: Settings) -> list:
    """Section 1: each film, `settings.trials` times, each time a file the server has never converted."""
    from playwright.sync_api import sync_playwright

    results = [
        FirstFrames("2-h MKV H.264+AC-3 (remux)", REMUX_SEEK),
        FirstFrames("720p HEVC (transcode)", round(films.hevc_seconds * 0.7)),
    ]
    live = server.start()
    server.wait_described()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for result, files in zip(results, names.values(), strict=True):
                for trial, name in enumerate(files):
                    context = keyed_context(browser, live)
                    page = context.new_page()
                    page.goto(live.url + "/")
                    page.evaluate(ADD_VIDEO)
                    page.add_script_tag(url="/static/couchcast/playback.js")
                    with ConversionMeter(live) as meter:
                        known = set(meter.segments)
                        figures = page.evaluate(
                            MEASURE, {"folder": server.folder, "path": name, "seekTo": result.seek_to}
                        )
                        page.wait_for_timeout(PLAY_ON_SECONDS * 1000)
                    context.close()
                    result.kind = figures["kind"]
                    result.first.append(figures["firstFrame"])
                    result.resume.append(figures["resume"])
                    made = film_made(live, server, name, figures["kind"], meter.segments - known)
                    result.film_made.append(made)
                    if made:
                        result.cpu_per_second.append(meter.cpu_of(name) / made)
                    print(
                        f"   {result.label}, trial {trial + 1}: first frame {figures['firstFrame']:.2f} s, "
                        f"after the seek {figures['resume']:.2f} s, {made:.0f} s of film made, "
                        f"{meter.cpu_of(name):.1f} CPU-s",
                        flush=True,
                    )
        finally:
            browser.close()
    server.stop()
    return results


def film_made(live: LiveServer, server: Server, name: str, kind: str, segments: set[Path]) -> float:
    """Seconds of film in the segments written for this file (the only new ones in its trial)."""
    answer = live.request(playlist_path(server, name, kind))
    lengths = parse_playlist(answer.body.decode()).lengths
    numbers = {int(path.stem) for path in segments if path.stem.isdigit()}
    return sum(lengths[number] for number in numbers if number < len(lengths))


# ---------------------------------------------------------------- 2. viewers paced like players


@dataclass
class ViewerResult:
    label: str
    kind: str
    name: str
    seek_to: float
    start: float | None = None  # seconds until the first segment arrived
    seek_wait: float = 0.0  # stall waiting for the first segment after the seek
    rebuffer: float = 0.0  # stall with the playhead at a segment not fetched yet, otherwise
    played: float = 0.0
    segments: int = 0
    no_room: str | None = None  # the 503's words
    error: str | None = None
    slowest: tuple[float, int] = (0.0, -1)  # (seconds, segment) of the slowest segment request

    @property
    def stall(self) -> float:
        return self.seek_wait + self.rebuffer

    def passed(self, playback: float) -> bool:
        return (
            self.no_room is None
            and self.error is None
            and self.played >= playback - 0.5
            and self.stall <= STALL_GOAL
        )


class Viewer(threading.Thread):
    """One player: a playlist, then segments one at a time, 3 ahead of a real-time playhead, one seek."""

    def __init__(
        self, live: LiveServer, path: str, result: ViewerResult, playback: float, seek_after: float
    ) -> None:
        super().__init__(name=f"viewer-{result.label}", daemon=True)
        self.live = live
        self.path = path
        self.result = result
        self.playback = playback
        self.seek_after = seek_after  # seconds of playback before the seek
        self.connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=REQUEST_TIMEOUT)

    def get(self, path: str) -> tuple[int, dict, bytes]:
        for attempt in range(2):  # a keep-alive connection the server closed meanwhile: once more
            try:
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                return response.status, dict(response.headers), response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def run(self) -> None:
        try:
            self.play()
        except Exception as exc:  # a benchmark's viewer reports what broke; it does not crash the run
            self.result.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.connection.close()

    def playlist(self) -> Playlist:
        deadline = time.monotonic() + 60
        while True:
            status, headers, body = self.get(f"{self.path}?key={quote(self.live.key)}")
            if status == 200:
                return parse_playlist(body.decode())
            if status != 503 or time.monotonic() > deadline:
                raise RuntimeError(f"playlist: {status} {body[:200]!r}")
            time.sleep(float(headers.get("Retry-After", "1")))  # the file's timeline is being read

    def play(self) -> None:
        result = self.result
        began = time.monotonic()
        playlist = self.playlist()
        starts, count = playlist.starts, len(playlist.lengths)
        ends = [*starts[1:], starts[-1] + playlist.lengths[-1]]
        fetched: set[int] = set()
        position = 0.0  # the playhead, seconds of film
        waiting = "start"  # what a stall now counts as: "start", "seek" or "rebuffer"
        seeked = False
        clock = time.monotonic()
        wanted = 0  # the next segment to fetch

        def segment_at(time_in_film: float) -> int:
            return max(0, bisect.bisect_right(starts, time_in_film) - 1)

        def advance() -> None:
            """Move the playhead by the time passed, through fetched segments only; count the rest."""
            nonlocal clock, position
            now = time.monotonic()
            passed, clock = now - clock, now
            while passed > 1e-9:
                number = segment_at(position)
                if number not in fetched:
                    if waiting == "seek":
                        result.seek_wait += passed
                    elif waiting == "rebuffer":
                        result.rebuffer += passed
                    return
                step = min(passed, ends[number] - position, self.playback - result.played)
                position += step
                result.played += step
                passed -= step
                if result.played >= self.playback or position >= ends[-1] - 1e-6:
                    return

        deadline = began + self.playback * 3 + 60
        while result.played < self.playback - 1e-6 and position < ends[-1] - 1e-6:
            advance()
            if time.monotonic() > deadline:
                result.error = f"gave up after {time.monotonic() - began:.0f} s"
                return
            if not seeked and result.played >= self.seek_after:
                seeked, waiting = True, "seek"
                position = result.seek_to = min(result.seek_to, ends[-1] - self.playback)
                wanted = segment_at(position)
            playing = segment_at(position)
            while wanted in fetched:
                wanted += 1
            if wanted >= count or wanted > playing + BUFFER_SEGMENTS:
                time.sleep(0.05)  # the buffer is full: wait for the playhead to move on
                continue
            asked = time.monotonic()
            status, _, body = self.get(playlist.uris[wanted])
            took = time.monotonic() - asked
            advance()  # the time the request took passed without this segment
            if status == 503:
                result.no_room = json.loads(body).get("error", "503")
                return
            if status != 200 or not body:
                result.error = f"segment {wanted}: {status} {body[:160]!r}"
                return
            result.slowest = max(result.slowest, (took, wanted))
            fetched.add(wanted)
            result.segments += 1
            if waiting == "start":
                result.start, waiting = time.monotonic() - began, "rebuffer"
            elif waiting == "seek" and segment_at(position) in fetched:
                waiting = "rebuffer"


@dataclass
class Step:
    transcodes: int
    viewers: list[ViewerResult]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float
    conversion_cpu: float  # CPU-s of every conversion process in the step
    log: dict[str, int]
    log_lines: list[str]

    def all_passed(self, playback: float) -> bool:
        return all(viewer.passed(playback) for viewer in self.viewers)

    def kept_up(self) -> bool:
        """Every viewer played on without rebuffering past the goal (waits after seeks aside), no 503."""
        return all(v.no_room is None and v.error is None and v.rebuffer <= STALL_GOAL for v in self.viewers)

    def no_room(self) -> bool:
        return any(viewer.no_room for viewer in self.viewers)


def run_viewers(server: Server, remux_names: list[str], hevc_names: list[str], films: Films,
                settings: Settings, seed: int) -> Step:  # fmt: skip
    """REMUX_VIEWERS remux viewers and len(hevc_names) transcode viewers at once, on a fresh server."""
    live = server.start()
    offset = server.log_offset()
    randomness = random.Random(seed)
    viewers = []
    groups = [("remux", remux_names, films.remux_seconds), ("transcode", hevc_names, films.hevc_seconds)]
    for kind, names, length in groups:
        for number, name in enumerate(names, 1):
            result = ViewerResult(
                f"{kind}-{number}", kind, name, round(randomness.uniform(0.25, 0.8) * length)
            )
            seek_after = randomness.uniform(0.3, 0.6) * settings.playback
            path = playlist_path(server, name, kind)
            viewers.append(Viewer(live, path, result, settings.playback, seek_after))
    load_before = os.getloadavg()
    started = time.monotonic()
    with ConversionMeter(live) as meter:
        for viewer in viewers:
            viewer.start()
            time.sleep(0.5)  # a household's phones do not all press play in the same instant
        for viewer in viewers:
            viewer.join()
    seconds = time.monotonic() - started
    load_after = os.getloadavg()
    server.stop()
    lines = server.log_since(offset)
    log = {
        "processes started": sum(1 for line in lines if re.search(r"ffmpeg \d+: \w+ of ", line)),
        "processes ended": sum(1 for line in lines if re.search(r"ffmpeg \d+ ended", line)),
        "idle ones ended for room": sum(1 for line in lines if "to make room" in line),
        "warnings": sum(1 for line in lines if " WARNING " in line or " ERROR " in line),
    }
    return Step(len(hevc_names), [v.result for v in viewers], load_before, load_after, seconds,
                meter.total_cpu(), log, lines)  # fmt: skip


# ---------------------------------------------------------------- printing


def seconds_text(value: float) -> str:
    value = int(round(value))
    return f"{value // 3600}:{value // 60 % 60:02}:{value % 60:02}"


def load_text(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def median_and_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f}" if values else "none"


def print_first_frames(results: list[FirstFrames], trials: int) -> None:
    header = (
        f"{'film':30} {'plan':10} {'first frame s':>16} {'seek to':>9} {'after seek s':>16}"
        f" {'CPU per stream':>22}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        cpu = f"{statistics.median(result.cpu_per_second):.3f} CPU-s/s" if result.cpu_per_second else "none"
        print(
            f"{result.label:30} {result.kind:10} {median_and_max(result.first):>16}"
            f" {seconds_text(result.seek_to):>9} {median_and_max(result.resume):>16} {cpu:>22}"
        )
    print("-" * len(header))
    print(
        f"median / max of {trials} trial(s), each on a file the server had never converted. CPU per stream:"
    )
    print(
        "CPU-seconds of ffmpeg per second of film it made (1.0 = one core busy for one viewer in real time)."
    )


def print_step(step: Step, playback: float) -> None:
    print(
        f"\n{REMUX_VIEWERS} remux + {step.transcodes} transcode viewers, {playback:g} s of playback each"
        f" ({step.seconds:.0f} s; load average {load_text(step.load_before)} before,"
        f" {load_text(step.load_after)} after)"
    )
    header = (
        f"{'viewer':12} {'first seg s':>11} {'seek to':>9} {'seek wait s':>11} {'rebuffer s':>10}"
        f" {'stall s':>8} {'played s':>8} {'segments':>8} {'slowest (seg)':>14}  result"
    )
    print(header)
    print("-" * len(header))
    for viewer in step.viewers:
        start = f"{viewer.start:.2f}" if viewer.start is not None else "-"
        slowest = f"{viewer.slowest[0]:.2f} ({viewer.slowest[1]})"
        outcome = verdict(viewer.passed(playback))
        if viewer.no_room:
            outcome += " 503: " + viewer.no_room[:60]
        elif viewer.error:
            outcome += " " + viewer.error[:70]
        print(
            f"{viewer.label:12} {start:>11} {seconds_text(viewer.seek_to):>9} {viewer.seek_wait:>11.2f}"
            f" {viewer.rebuffer:>10.2f} {viewer.stall:>8.2f} {viewer.played:>8.1f} {viewer.segments:>8}"
            f" {slowest:>14}  {outcome}"
        )
    print("-" * len(header))
    cores = step.conversion_cpu / step.seconds if step.seconds else 0.0
    log = ", ".join(f"{count} {what}" for what, count in step.log.items())
    print(f"ffmpeg conversions used {step.conversion_cpu:.0f} CPU-s ({cores:.2f} cores); server log: {log}")
    for line in step.log_lines:
        if " WARNING " in line or " ERROR " in line:
            print(f"   log: {line[:150]}")


def print_capacity(steps: list[Step], playback: float) -> None:
    print("\nHow many fit:")
    strict = kept = None
    for step in steps:
        ok = step.all_passed(playback)
        worst = max(step.viewers, key=lambda v: v.stall)
        if ok:
            why = "every stall within the goal"
        elif step.no_room():
            why = "503 (no room)"
        else:
            why = f"{worst.label} stalled {worst.stall:.1f} s ({worst.seek_wait:.1f} s of it after its seek)"
        print(f"   {REMUX_VIEWERS} remux + {step.transcodes} transcode: {verdict(ok)} ({why})")
        if ok and strict == (None if step is steps[0] else step.transcodes - 1):
            strict = step.transcodes
        if step.kept_up():
            kept = step.transcodes
    searched = steps[-1].transcodes
    more = " (the search stopped there)" if kept == searched else ""
    print(f"   Each viewer <= {STALL_GOAL:g} s of stall, seek waits included: ", end="")
    print(f"{REMUX_VIEWERS} remux + {strict} transcode." if strict is not None else "not even the goal's.")
    print(f"   Playback keeping up (<= {STALL_GOAL:g} s rebuffering, no 503), seek waits aside: ", end="")
    print(f"{REMUX_VIEWERS} remux + {kept} transcode{more}." if kept is not None else "not even the goal's.")


# ---------------------------------------------------------------- the run


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (shorter playback, fewer steps)")
    parser.add_argument("--films", type=Path, help="a folder to keep the films in, reused by the next run")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server home and log)")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, interrupt)

    work = Path(tempfile.mkdtemp(prefix="couchcast-bench-transcode-"))
    server = Server(work / "library", work / "home")
    try:
        print(f"{os.cpu_count()} CPUs, load average {load_text(os.getloadavg())} before making the films.")
        films = make_films(args.films or work / "films", settings)
        server.library.mkdir()
        trials = {
            "remux": [
                link_into(server.library, films.remux, f"first-remux-{n}") for n in range(settings.trials)
            ],
            "hevc": [
                link_into(server.library, films.hevc, f"first-hevc-{n}") for n in range(settings.trials)
            ],
        }
        remux_names = [
            link_into(server.library, films.remux, f"viewer-remux-{n}") for n in range(REMUX_VIEWERS)
        ]
        hevc_names = [
            link_into(server.library, films.hevc, f"viewer-hevc-{n}") for n in range(settings.most_transcodes)
        ]
        load_before = os.getloadavg()
        print(f"Load average before measuring: {load_text(load_before)}\n")

        print("1. First frame and first frame after a seek, headless Chromium (native HLS)…", flush=True)
        firsts = first_frames(server, films, trials, settings)

        print(
            f"\n2. Viewers paced like players ({BUFFER_SEGMENTS}-segment buffer, one seek each)…", flush=True
        )
        steps = []
        for transcodes in range(TRANSCODE_GOAL, settings.most_transcodes + 1):
            step = run_viewers(server, remux_names, hevc_names[:transcodes], films, settings, seed=transcodes)
            steps.append(step)
            print_step(step, settings.playback)
            if not step.kept_up():
                break  # the strict goal may have missed on a seek's wait alone: then it goes on

        print("\n" + "=" * 100)
        print(
            f"Conversions, {'quick' if args.quick else 'full'} run: {os.cpu_count()} CPUs; films: "
            f"{seconds_text(films.remux_seconds)} MKV 320x180 H.264 (B-frames, 2-10 s GOPs) + AC-3 5.1,"
        )
        print(f"{seconds_text(films.hevc_seconds)} MP4 1280x720 HEVC (x265, open GOPs, 2-10 s) + AC-3 5.1.")
        print(f"Load average before: {load_text(load_before)}; after: {load_text(os.getloadavg())}.\n")
        print_first_frames(firsts, settings.trials)
        goal = steps[0]
        print(
            f"\nGoal: {REMUX_VIEWERS} remux + {TRANSCODE_GOAL} transcode viewers, <= {STALL_GOAL:g} s stall"
            f" in {settings.playback:g} s each: {verdict(goal.all_passed(settings.playback))}"
        )
        for viewer in goal.viewers:
            outcome = verdict(viewer.passed(settings.playback))
            print(
                f"   {viewer.label:12} stall {viewer.stall:5.2f} s = {viewer.seek_wait:.2f} s waiting after"
                f" the seek + {viewer.rebuffer:.2f} s rebuffering  {outcome}"
            )
        print_capacity(steps, settings.playback)
        return 0
    except KeyboardInterrupt:
        print("\nInterrupted: stopping the server and removing the files.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        if args.keep:
            print(f"\nWork folder kept: {work} (server log: {server.log_path()})")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
