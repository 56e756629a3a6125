"""The conversions running for the viewers in the house: who gets an ffmpeg process, and for how long.

A request for segment N of a file is answered from the cache when the segment is there (segments are
the same whichever process made them, see `segments` and `cutter`, so one made for another viewer
or before a seek serves as well). Otherwise it waits for a process that is about to reach N, or
starts one at N for its viewer (the viewer is named by the playlist's link, so a seek replaces that
viewer's own process and never another viewer's).

Capacity is planned, not found by accident. Each process costs what it takes of a core to keep up
with one viewer (`conversion_cost`: a remux copies the video and costs a few percent; a transcode
about a core for 4K, less for smaller pictures); together they stay within the computer's cores.
To start one more, processes nobody has asked anything of for a while (a paused or closed player)
are ended first; when there is still no room the viewer is told at once (`NoRoom`, with words the
player shows), never after a silent wait.

A process never runs far ahead of its viewer: past AHEAD_SECONDS the cutter stops reading its pipe,
and ffmpeg, blocked on a full pipe, uses no CPU. A request that waits keeps its process alive; a
process whose viewer asks for nothing for IDLE_SECONDS ends. `stop_all()` ends every process and
removes every segment (the server's runtime calls it when it stops, and at exit).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from server.transcode.burn import conversion_command
from server.transcode.cutter import Cutter, Outcome
from server.transcode.media import MediaError, require_ffmpeg
from server.transcode.picture import ffmpeg_filters
from server.transcode.segments import Rendition

log = logging.getLogger(__name__)

# What one viewer's conversion takes of a core. A remux copies the video and re-encodes only the
# sound: a few percent. A transcode was measured here at 1.04 CPU-s per second of 4K HEVC 10-bit
# (to 720p x264 ultrafast) and 0.41 for 1080p HEVC; MPEG-2, XviD and WMV at 0.07-0.16.
REMUX_COST = 0.05
TRANSCODE_BASE_COST = 0.15
TRANSCODE_4K_COST = 1.05
PIXELS_4K_24 = 3840 * 2160 * 24
# A request this many segments past what its viewer's process is making waits for it rather than
# starting another process there.
WAIT_AHEAD = 3
# How far (seconds of film) a process may run ahead of the last segment its viewer asked for.
# Players keep 30-60 s buffered; more would only fill the cache and take CPU from other viewers.
AHEAD_SECONDS = 60.0
# A process whose viewer asked for nothing this long, plus two of its longest segments, ends (a
# closed page, a pause): a playing viewer asks for every segment (2-10 s of film) as it plays, and
# a later request simply starts a new process where the viewer is (segments fit whichever process
# made them). It holds no CPU meanwhile (see AHEAD_SECONDS), only memory.
IDLE_SECONDS = 4.0
# To make room for another viewer, a process whose viewer asked nothing for this long (plus two of
# its longest segments) may be ended first.
EVICTABLE_SECONDS = 2.0
# How long a request waits for its segment. A seek into a 4K HEVC film with 10 s keyframe intervals
# decodes up to 10 s of it first: about 10 CPU-s, longer on a busy machine.
SEGMENT_TIMEOUT = 60.0
# Segments further behind the viewer than this are removed: a film watched to the end would
# otherwise keep gigabytes in the cache. Seeking back there converts them again.
KEEP_BEHIND = 150
# A file nobody watched for this long loses its segments.
KEEP_SECONDS = 600.0
REAP_INTERVAL = 1.0
# A process counts as waited for this long after a request last waited for it (requests waiting
# check in every second).
URGENT_SECONDS = 1.5
# Scheduling priority of conversions on POSIX (0 is the server's own; higher runs later).
REMUX_NICENESS = 5
TRANSCODE_NICENESS = 10


class NoRoom(MediaError):
    """Every core is taken by other viewers' conversions: the viewer is told, in words, at once."""


class Superseded(MediaError):
    """The viewer asked for another part of the film (a seek) while this request waited."""


def conversion_cost(kind: str, width: int | None, height: int | None, frame_rate: float | None) -> float:
    """The share of one core a conversion takes to keep up with one viewer (see the constants)."""
    if kind == "remux":
        return REMUX_COST
    pixel_rate = (width or 1920) * (height or 1080) * min(frame_rate or 24.0, 60.0)
    return TRANSCODE_BASE_COST + (TRANSCODE_4K_COST - TRANSCODE_BASE_COST) * min(
        pixel_rate / PIXELS_4K_24, 2.0
    )


def default_capacity() -> float:
    """The cores conversions may use together: all of this computer's."""
    return float(os.cpu_count() or 1)


@dataclass(eq=False)
class Worker:
    """One ffmpeg process and the thread cutting its output, making segments for one viewer."""

    viewer: str
    cost: float
    first: int
    process: subprocess.Popen
    stderr: IO[bytes]
    making: int  # the segment being made now
    wanted: int  # the latest segment its viewer asked for
    last_request: float = field(default_factory=time.monotonic)
    last_wait: float = -math.inf  # when a request last waited for this process
    held: bool = False  # suspended while another viewer waits (Scheduler._balance)
    stopping: bool = False
    thread: threading.Thread | None = None

    def alive(self) -> bool:
        return not self.stopping and self.process.poll() is None

    def hold(self, held: bool) -> None:
        """Suspend or resume the process (SIGSTOP/SIGCONT; on Windows, its threads)."""
        if held != self.held:
            with contextlib.suppress(psutil.Error, OSError):
                process = psutil.Process(self.process.pid)
                if held:
                    process.suspend()
                else:
                    process.resume()
            self.held = held


@dataclass(eq=False)
class Conversion:
    """One file converted one way: where its segments are, which exist, who is making more."""

    key: str
    rendition: Rendition
    directory: Path
    cost: float
    done: set[int] = field(default_factory=set)
    workers: dict[str, Worker] = field(default_factory=dict)  # by viewer
    tickets: dict[str, int] = field(default_factory=dict)  # requests counted per viewer
    failed: dict[int, str] = field(default_factory=dict)  # segment -> why it could not be made
    last_request: float = field(default_factory=time.monotonic)
    last_number: int = 0
    runs: int = 0

    def longest_segment(self) -> float:
        bounds = [*self.rendition.boundaries, self.rendition.end]
        return max((b - a for a, b in zip(bounds, bounds[1:], strict=False)), default=0.0)


class Scheduler:
    def __init__(
        self,
        root: Path,
        *,
        capacity: float | None = None,
        idle_seconds: float = IDLE_SECONDS,
        evictable_seconds: float = EVICTABLE_SECONDS,
        ahead_seconds: float = AHEAD_SECONDS,
        ffmpeg: str | None = None,
    ):
        self.root = root
        self.capacity = default_capacity() if capacity is None else capacity
        self.idle_seconds = idle_seconds
        self.evictable_seconds = evictable_seconds
        self.ahead_seconds = ahead_seconds
        self.ffmpeg = ffmpeg  # None: the one server.ffmpeg finds, asked at each start
        self._conversions: dict[str, Conversion] = {}
        self._filters: dict[str, frozenset[str]] = {}  # the video filters of each ffmpeg, asked once
        self._condition = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._stopped = False

    # --- what the views ask -------------------------------------------------------------------

    def segment(
        self,
        key: str,
        rendition: Rendition,
        number: int,
        *,
        viewer: str = "",
        cost: float = REMUX_COST,
        timeout: float = SEGMENT_TIMEOUT,
    ) -> Path:
        """The finished file of segment `number`, made now if needed.

        Raises NoRoom (no capacity), Superseded (the viewer moved on), MediaError (anything else).
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            if self._stopped:
                raise MediaError("Couchcast is stopping.")
            conversion = self._conversions.get(key)
            if conversion is None:
                conversion = Conversion(key, rendition, self.root / key, cost)
                self._conversions[key] = conversion
            ticket = conversion.tickets[viewer] = conversion.tickets.get(viewer, 0) + 1
            conversion.last_number = number
            self._start_reaper()
            while True:
                now = time.monotonic()
                conversion.last_request = now
                if self._conversions.get(key) is not conversion:
                    raise MediaError("Couchcast is stopping.")  # stop_all() ran while this waited
                path = conversion.directory / f"{number}.ts"
                own = conversion.workers.get(viewer)
                if own is not None:
                    own.wanted, own.last_request = number, now
                if number in conversion.done and path.exists():
                    self._condition.notify_all()  # a process waiting for its viewer may go on
                    return path
                if number in conversion.failed:
                    raise MediaError(conversion.failed[number])
                worker = self._worker_reaching(conversion, number)
                if worker is None:
                    if own is not None and own.alive() and conversion.tickets[viewer] != ticket:
                        raise Superseded(f"Segment {number} is no longer wanted: the viewer moved on.")
                    worker = self._start(conversion, viewer, number)
                # A waiting request keeps the process it waits for alive, and first in line.
                worker.wanted, worker.last_request = max(worker.wanted, number), now
                if worker.last_wait < now - URGENT_SECONDS / 2:
                    worker.last_wait = now
                    self._balance(now)
                worker.last_wait = now
                self._condition.notify_all()
                if now >= deadline:
                    raise MediaError("Converting took too long: the computer may be too busy. Try again.")
                self._condition.wait(min(deadline - now, 1.0))

    def room_for(self, cost: float) -> bool:
        """Whether one more viewer of this cost could start now (after ending idle processes)."""
        with self._condition:
            now = time.monotonic()
            busy = [w for c in self._conversions.values() for w in c.workers.values() if w.alive()]
            staying = [w for w in busy if not self._evictable(w, now)]
            return not staying or sum(w.cost for w in staying) + cost <= self.capacity + 1e-9

    def converting(self) -> int:
        """How many viewers have a conversion running now."""
        with self._condition:
            return sum(1 for c in self._conversions.values() for w in c.workers.values() if w.alive())

    def running_processes(self) -> list[int]:
        """Process ids of the ffmpeg processes running now."""
        with self._condition:
            return [
                w.process.pid for c in self._conversions.values() for w in c.workers.values() if w.alive()
            ]

    def remove_stale_segments(self) -> None:
        """Remove segments a previous run left behind (it was killed before it could clean up)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_all(self) -> None:
        """Kill every process and remove every segment."""
        with self._condition:
            self._stopped = True
            workers = [w for c in self._conversions.values() for w in c.workers.values()]
            for worker in workers:
                self._kill(worker)
            self._conversions.clear()
            self._condition.notify_all()
        for worker in workers:
            if worker.thread is not None:
                worker.thread.join(10)
        shutil.rmtree(self.root, ignore_errors=True)
        with self._condition:
            self._stopped = False  # a server started again in this process converts again

    # --- processes ----------------------------------------------------------------------------

    def _worker_reaching(self, conversion: Conversion, number: int) -> Worker | None:
        """A running process that has made or is about to make segment `number`."""
        for worker in conversion.workers.values():
            if worker.alive() and worker.first <= number <= worker.making + WAIT_AHEAD:
                return worker
        return None

    def _quiet_for(self, worker: Worker, now: float, limit: float) -> bool:
        """Whether the worker's viewer asked nothing for `limit` plus two of its longest segments."""
        conversion = next(c for c in self._conversions.values() if worker in c.workers.values())
        return now - worker.last_request > limit + 2 * conversion.longest_segment()

    def _balance(self, now: float) -> None:
        """While a viewer waits for a segment (a start, a seek), processes that are only running
        ahead of their viewers are suspended, so the waiting one has the cores; all go on when
        nobody waits. (Four remuxes running ahead beside two transcodes made a transcode seek wait
        2.6-2.8 s for its first segment on two cores.)"""
        alive = [w for c in self._conversions.values() for w in c.workers.values() if w.alive()]
        waited_for = [w for w in alive if now - w.last_wait < URGENT_SECONDS]
        for worker in alive:
            ahead = worker.making > worker.wanted + 1 and worker not in waited_for
            worker.hold(bool(waited_for) and ahead)

    def _evictable(self, worker: Worker, now: float) -> bool:
        return self._quiet_for(worker, now, self.evictable_seconds)

    def _make_room(self, cost: float) -> None:
        now = time.monotonic()
        busy = [w for c in self._conversions.values() for w in c.workers.values() if w.alive()]
        used = sum(w.cost for w in busy)
        for idle in sorted((w for w in busy if self._evictable(w, now)), key=lambda w: w.last_request):
            if used + cost <= self.capacity + 1e-9:
                break
            log.info("Ending an idle conversion to make room for another viewer")
            self._kill(idle)
            used -= idle.cost
        converting = len([w for w in busy if w.alive()])
        # One conversion always may run, however costly: a 4K film must play on a 1-core computer.
        if converting and used + cost > self.capacity + 1e-9:
            raise NoRoom(no_room_message(converting))

    def _start(self, conversion: Conversion, viewer: str, number: int) -> Worker:
        binary = self.ffmpeg or require_ffmpeg()
        replaced = conversion.workers.pop(viewer, None)
        if replaced is not None:
            self._kill(replaced)  # the same viewer, elsewhere in the film: a seek
        self._make_room(conversion.cost)
        conversion.runs += 1
        conversion.directory.mkdir(parents=True, exist_ok=True)
        log_path = conversion.directory / f"ffmpeg-{conversion.runs}.log"
        stderr = open(log_path, "wb")  # noqa: SIM115 - closed when the worker ends
        try:
            process = subprocess.Popen(
                conversion_command(
                    binary, conversion.rendition, first=number, filters=self._filters_of(binary)
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        except OSError as exc:
            stderr.close()
            raise MediaError(f"ffmpeg could not be started: {exc}") from exc
        _lower_priority(process.pid, conversion.rendition.kind)
        worker = Worker(viewer, conversion.cost, number, process, stderr, making=number, wanted=number)
        conversion.workers[viewer] = worker
        log.info(
            "ffmpeg %d: %s of %s from segment %d",
            process.pid,
            conversion.rendition.kind,
            conversion.rendition.source,
            number,
        )
        worker.thread = threading.Thread(
            target=self._cut, args=(conversion, worker), name=f"couchcast-cut-{process.pid}", daemon=True
        )
        worker.thread.start()
        return worker

    def _filters_of(self, binary: str) -> frozenset[str]:
        """Which filters `binary` has: builds differ (zscale for tone mapping is optional)."""
        if binary not in self._filters:
            self._filters[binary] = ffmpeg_filters(binary)
        return self._filters[binary]

    def _cut(self, conversion: Conversion, worker: Worker) -> None:
        """The worker's thread: cut its process's output into segments, then note how it ended."""

        def proceed(number: int) -> bool:
            with self._condition:
                boundaries = conversion.rendition.boundaries
                while not worker.stopping and (
                    boundaries[number] - boundaries[min(worker.wanted, number)] > self.ahead_seconds
                ):
                    self._condition.wait(1.0)
                worker.making = number
                return not worker.stopping

        def finished(number: int, path: Path) -> None:
            with self._condition:
                conversion.done.add(number)
                worker.making = max(worker.making, number + 1)
                self._condition.notify_all()

        rendition = conversion.rendition
        last = rendition.window_end(worker.first)
        cutter = Cutter(rendition, worker.first, last, conversion.directory, proceed, finished)
        outcome = cutter.run(worker.process.stdout)
        if outcome is not Outcome.FILM_ENDED:
            with contextlib.suppress(OSError):
                worker.process.kill()  # nothing reads the process's output any more
        worker.process.stdout.close()
        returncode = worker.process.wait()
        with self._condition:
            worker.stderr.close()
            if not worker.stopping and outcome is not Outcome.WINDOW_ENDED:
                if outcome is Outcome.FILM_ENDED and returncode == 0:
                    for number in range(worker.making, last):
                        if number not in conversion.done:
                            conversion.failed[number] = (
                                f"Segment {number} could not be made: the file ends before it."
                            )
                else:
                    conversion.failed[worker.making] = self._failure(worker)
                    log.warning(
                        "ffmpeg %d failed on %s: %s",
                        worker.process.pid,
                        conversion.rendition.source,
                        conversion.failed[worker.making],
                    )
            worker.stopping = True
            if conversion.workers.get(worker.viewer) is worker:
                del conversion.workers[worker.viewer]
            self._condition.notify_all()

    @staticmethod
    def _failure(worker: Worker) -> str:
        lines: list[str] = []
        with contextlib.suppress(OSError):
            lines = Path(worker.stderr.name).read_text("utf-8", errors="replace").strip().splitlines()
        return f"ffmpeg could not convert this file: {lines[-1] if lines else 'it stopped without a message'}"

    def _kill(self, worker: Worker) -> None:
        worker.hold(False)
        worker.stopping = True
        if worker.process.poll() is None:
            # SIGKILL: nothing of a half-made segment is kept, so there is nothing to close cleanly.
            worker.process.kill()
            log.info("ffmpeg %d ended", worker.process.pid)
        self._condition.notify_all()

    # --- housekeeping -------------------------------------------------------------------------

    def _start_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(
                target=self._reap_forever, name="couchcast-transcode-reaper", daemon=True
            )
            self._reaper.start()

    def _reap_forever(self) -> None:
        while True:
            time.sleep(REAP_INTERVAL)
            self.reap()

    def reap(self) -> None:
        """End processes nobody asks anything of; forget conversions nobody watched for a while."""
        now = time.monotonic()
        with self._condition:
            self._balance(now)
            for key, conversion in list(self._conversions.items()):
                for worker in list(conversion.workers.values()):
                    if worker.alive() and self._quiet_for(worker, now, self.idle_seconds):
                        self._kill(worker)
                for number in [n for n in conversion.done if n < conversion.last_number - KEEP_BEHIND]:
                    with contextlib.suppress(OSError):  # on Windows, a file being sent cannot be removed
                        (conversion.directory / f"{number}.ts").unlink()
                        conversion.done.discard(number)
                idle = now - conversion.last_request
                if not any(w.alive() for w in conversion.workers.values()) and idle > KEEP_SECONDS:
                    shutil.rmtree(conversion.directory, ignore_errors=True)
                    del self._conversions[key]


def _lower_priority(pid: int, kind: str) -> None:
    """Conversions yield the CPU to the server itself and to copies: a page, a range request or a
    remux's next segment must not wait behind a transcode. (A seek in a remux took 1 s alone and
    4-7 s beside four transcodes at the same priority.)"""
    with contextlib.suppress(psutil.Error, OSError):
        process = psutil.Process(pid)
        if os.name == "nt":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(TRANSCODE_NICENESS if kind == "transcode" else REMUX_NICENESS)


def no_room_message(converting: int) -> str:
    others = "1 other video is" if converting == 1 else f"{converting} other videos are"
    return (
        f"{others} being converted on this computer right now, which is all it can do at once. "
        "Try again when one of them is stopped or paused, or choose a file that plays as it is."
    )
