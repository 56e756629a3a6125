"""The ffmpeg processes that make HLS segments on demand, and the segments they leave in the cache dir.

A request for segment N is answered from disk when it is there; otherwise it waits for the running
process when that process is about to reach N, or starts a new process at N (a seek), killing the
one that was far away. The manager owns every process it starts:
- at most MAX_PROCESSES run at once; a new one ends the least recently watched;
- a process whose viewer asks for nothing for IDLE_SECONDS is killed (a closed page, a paused film:
  a later request simply starts a new one where the viewer is), and so is one that ran more than
  AHEAD_LIMIT segments past what the viewer has asked for;
- `stop_all()` kills them all and removes the segments (the runner's stop path and atexit call it);
- segments more than KEEP_BEHIND behind the viewer, and those of a file nobody watched for
  KEEP_SECONDS, are removed.
Each process writes into a directory of its own, so a new process never rewrites a segment that a
request may be sending.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from server.transcode.media import MediaError, require_ffmpeg
from server.transcode.segments import Rendition, ffmpeg_command

log = logging.getLogger(__name__)

MAX_PROCESSES = 2
IDLE_SECONDS = 6.0
AHEAD_LIMIT = 12
# A request at most this many segments past the running process's position waits for it.
WAIT_AHEAD = 3
# Segments further behind the viewer than this are removed: a film watched to the end would
# otherwise keep gigabytes in the cache. Seeking back there converts them again.
KEEP_BEHIND = 150
SEGMENT_TIMEOUT = 30.0
KEEP_SECONDS = 600.0
REAP_INTERVAL = 0.5
_LISTED = re.compile(r"^(?:remux|transcode)-(\d+)\.ts,", re.MULTILINE)


@dataclass(eq=False)
class Conversion:
    """One file being converted one way: its segment boundaries, finished segments, running process."""

    key: str
    rendition: Rendition
    directory: Path
    done: dict[int, Path] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    first: int = 0  # the segment the running process started at
    run_dir: Path | None = None
    stderr: IO[bytes] | None = None
    error: str | None = None
    runs: int = 0
    requests: int = 0  # counts segment requests; only the latest may move the process elsewhere
    last_request: float = field(default_factory=time.monotonic)
    last_requested: int = 0

    def position(self) -> int:
        """The segment the running process is making now."""
        number = self.first
        while number in self.done:
            number += 1
        return number

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Manager:
    def __init__(
        self,
        root: Path,
        *,
        max_processes: int = MAX_PROCESSES,
        idle_seconds: float = IDLE_SECONDS,
        ahead_limit: int = AHEAD_LIMIT,
    ):
        self.root = root
        self.max_processes = max_processes
        self.idle_seconds = idle_seconds
        self.ahead_limit = ahead_limit
        self._conversions: dict[str, Conversion] = {}
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None

    def segment(self, key: str, rendition: Rendition, number: int, timeout: float = SEGMENT_TIMEOUT) -> Path:
        """The finished file of segment `number`, made now if needed. Raises MediaError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            conversion = self._conversions.get(key)
            if conversion is None:
                conversion = Conversion(key, rendition, self.root / key)
                self._conversions[key] = conversion
            conversion.last_request = time.monotonic()
            conversion.last_requested = number
            conversion.requests += 1
            ticket = conversion.requests
            self._start_reaper()
        started: subprocess.Popen | None = None
        while True:
            with self._lock:
                if self._conversions.get(key) is not conversion:
                    raise MediaError("Couchcast is stopping.")  # stop_all() ran while this waited
                self._collect(conversion)
                if number in conversion.done:
                    conversion.last_request = time.monotonic()
                    return conversion.done[number]
                if conversion.error:
                    message, conversion.error = conversion.error, None
                    raise MediaError(message)
                if started is not None and started.poll() == 0:
                    # The process started for this very segment ended by itself without making it.
                    raise MediaError(f"Segment {number} could not be made: the file may end before it.")
                if not (
                    conversion.running() and conversion.first <= number <= conversion.position() + WAIT_AHEAD
                ):
                    if conversion.running() and ticket != conversion.requests:
                        # A later request (a seek while this one waited) moved the process: the
                        # player has given this segment up, so do not move the process back.
                        raise MediaError(f"Segment {number} is no longer wanted: the viewer moved on.")
                    self._start(conversion, number)
                    started = conversion.process
            if time.monotonic() > deadline:
                raise MediaError("Converting took too long: the computer may be too busy. Try again.")
            time.sleep(0.05)

    def running_processes(self) -> list[int]:
        """Process ids of the ffmpeg processes running now."""
        with self._lock:
            return [c.process.pid for c in self._conversions.values() if c.running()]

    def stop_all(self) -> None:
        """Kill every process and remove every segment."""
        with self._lock:
            for conversion in list(self._conversions.values()):
                self._kill(conversion)
            self._conversions.clear()
            shutil.rmtree(self.root, ignore_errors=True)

    def _start(self, conversion: Conversion, number: int) -> None:
        binary = require_ffmpeg()
        self._kill(conversion)
        running = [c for c in self._conversions.values() if c.running()]
        for victim in sorted(running, key=lambda c: c.last_request)[
            : max(0, len(running) - self.max_processes + 1)
        ]:
            log.info(
                "Ending the conversion of %s: at most %d at once", victim.rendition.source, self.max_processes
            )
            self._kill(victim)
        conversion.runs += 1
        run_dir = conversion.directory / f"run-{conversion.runs}"
        run_dir.mkdir(parents=True, exist_ok=True)
        command = ffmpeg_command(
            binary,
            conversion.rendition,
            first=number,
            segment_pattern=str(run_dir / f"{conversion.rendition.kind}-%d.ts"),
            list_path=str(run_dir / "segments.csv"),
        )
        stderr = open(run_dir / "ffmpeg.log", "wb")  # noqa: SIM115 - closed in _kill/_collect
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        except OSError as exc:
            stderr.close()
            raise MediaError(f"ffmpeg could not be started: {exc}") from exc
        log.info(
            "ffmpeg %d: %s of %s from segment %d",
            process.pid,
            conversion.rendition.kind,
            conversion.rendition.source,
            number,
        )
        conversion.process, conversion.first, conversion.run_dir, conversion.stderr = (
            process,
            number,
            run_dir,
            stderr,
        )

    def _collect(self, conversion: Conversion) -> None:
        """Note the segments the process has finished, and how it ended if it ended by itself."""
        self._read_list(conversion)
        process = conversion.process
        if process is not None and process.poll() is not None:
            if process.returncode != 0:
                conversion.error = self._failure(conversion)
                log.warning(
                    "ffmpeg %d failed on %s: %s", process.pid, conversion.rendition.source, conversion.error
                )
            self._end_run(conversion)

    def _read_list(self, conversion: Conversion) -> None:
        if conversion.run_dir is None:
            return
        with contextlib.suppress(OSError):
            listed = (conversion.run_dir / "segments.csv").read_text("ascii", errors="replace")
            for match in _LISTED.finditer(listed):
                number = int(match.group(1))
                conversion.done.setdefault(
                    number, conversion.run_dir / f"{conversion.rendition.kind}-{number}.ts"
                )

    def _failure(self, conversion: Conversion) -> str:
        lines: list[str] = []
        with contextlib.suppress(OSError):
            lines = (
                (conversion.run_dir / "ffmpeg.log").read_text("utf-8", errors="replace").strip().splitlines()
            )
        return f"ffmpeg could not convert this file: {lines[-1] if lines else 'it stopped without a message'}"

    def _kill(self, conversion: Conversion) -> None:
        process = conversion.process
        if process is None:
            return
        if process.poll() is None:
            # SIGKILL, not SIGTERM: on SIGTERM ffmpeg closes the segment it is writing and lists it
            # as finished, though it ends early.
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            log.info(
                "ffmpeg %d ended (%s of %s)",
                process.pid,
                conversion.rendition.kind,
                conversion.rendition.source,
            )
        self._read_list(conversion)
        self._end_run(conversion)

    def _end_run(self, conversion: Conversion) -> None:
        run_dir = conversion.run_dir
        if conversion.stderr is not None:
            conversion.stderr.close()
        if run_dir is not None:
            finished = set(conversion.done.values())
            for partial in run_dir.glob("*.ts"):
                if partial not in finished:
                    partial.unlink(missing_ok=True)
        conversion.process, conversion.stderr = None, None

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
        """Kill processes nobody waits for; forget conversions nobody watched for a while."""
        now = time.monotonic()
        with self._lock:
            for key, conversion in list(self._conversions.items()):
                self._collect(conversion)
                idle = now - conversion.last_request
                if conversion.running() and (
                    idle > self.idle_seconds
                    or conversion.position() - conversion.last_requested > self.ahead_limit
                ):
                    self._kill(conversion)
                for number in [n for n in conversion.done if n < conversion.last_requested - KEEP_BEHIND]:
                    with contextlib.suppress(OSError):  # on Windows, a file being sent cannot be removed
                        conversion.done.pop(number).unlink()
                if not conversion.running() and idle > KEEP_SECONDS:
                    shutil.rmtree(conversion.directory, ignore_errors=True)
                    del self._conversions[key]


_manager: Manager | None = None
_manager_lock = threading.Lock()


def manager() -> Manager:
    """The one manager of this process, its segments under the user cache dir."""
    global _manager
    with _manager_lock:
        if _manager is None:
            from django.conf import settings

            _manager = Manager(Path(settings.DIRS.cache) / "hls")
            atexit.register(stop_all)
        return _manager


def stop_all() -> None:
    """Kill every ffmpeg process this server started and remove their segments (server stop, Quit)."""
    if _manager is not None:
        _manager.stop_all()


def remove_stale_segments() -> None:
    """Remove segments a previous run left behind (it was killed before it could clean up)."""
    from django.conf import settings

    shutil.rmtree(Path(settings.DIRS.cache) / "hls", ignore_errors=True)
