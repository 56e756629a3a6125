"""What the converter needs to know about a file, each read once: probe, timeline, embedded subtitles.

Results are cached by path + size + mtime, so a changed file is read again. The library index will
hold the probe too; until then this cache keeps a page from probing the file at every request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import av

from server.atomic import replacing, write_atomically
from server.ffmpeg import ffmpeg_binary
from server.library.probe import MediaInfo, ProbeError, probe
from server.transcode.segments import Timeline

SCAN_TIMEOUT = 300
# Timelines are read by this many threads at once: reading a file without an index is bound by the
# disk, and two files read at once from one disk are no faster than one after the other.
SCAN_WORKERS = 1
# How long a playlist request waits for its file's timeline before it answers "still reading".
SCAN_WAIT = 20.0
# Encoders put a keyframe at least every 10 s (x264's and x265's defaults), a few every 20 s: an
# index with a longer gap has lost entries, and the packets are read instead.
LONGEST_GOP = 30.0
# A two-hour film has about 500,000 packets; a file with more than this is not a film (or lies).
MAX_SCANNED_PACKETS = 20_000_000
TEXT_SUBTITLES = frozenset({"subrip", "ass", "ssa", "webvtt", "mov_text", "text"})
_subtitle_lock = threading.Lock()


class MediaError(Exception):
    """ffmpeg is missing, or the file cannot be read or converted; the message says which."""


class StillReading(MediaError):
    """The file's timeline is being read; the request may be asked again in a few seconds."""


class FfmpegMissing(MediaError):
    """No ffmpeg on this computer: direct play still works, conversion does not."""


def identity(path: str) -> tuple[str, int, int]:
    """(path, size, mtime in ns): a file counts as changed when any of these differ."""
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


def require_ffmpeg() -> str:
    binary = ffmpeg_binary()
    if binary is None:
        raise FfmpegMissing(
            "ffmpeg is not available, so files the browser cannot play are not converted. "
            "Install ffmpeg (or the imageio-ffmpeg package) and restart Couchcast."
        )
    return binary


@functools.lru_cache(maxsize=512)
def _probe(path: str, size: int, mtime_ns: int) -> MediaInfo:
    try:
        return probe(path)
    except ProbeError as exc:
        raise MediaError(f"{os.path.basename(path)} cannot be read: {exc}") from exc


def media_info(path: str) -> MediaInfo:
    """The probed streams of a file (raises MediaError when ffmpeg is missing or the file is broken)."""
    require_ffmpeg()
    return _probe(*identity(path))


def _run_ffmpeg(path: str, arguments: list[str], what: str) -> subprocess.CompletedProcess:
    """ffmpeg on one input file; MediaError naming the file and `what` failed when it cannot run."""
    command = [require_ffmpeg(), "-v", "error", "-nostdin", "-y", "-i", path, *arguments]
    try:
        return subprocess.run(command, capture_output=True, timeout=SCAN_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"{os.path.basename(path)}: could not read its {what} ({exc}).") from exc


def _cache_name(source: tuple[str, int, int], *parts: object) -> str:
    return hashlib.sha256(repr((source, *parts)).encode()).hexdigest()[:24]


def _seconds(value: int | None, time_base) -> float | None:
    return None if value is None or time_base is None else float(value * time_base)


def read_timeline(path: str, video_stream: int) -> Timeline:
    """Where the film starts and really ends, and its video keyframes, read with PyAV.

    Given a sound stream instead (a sound-only file), only where it starts and ends (see
    _sound_timeline).

    The keyframes come from the file's own index when it has one (a Matroska file's Cues, an MP4's
    sample table: milliseconds to read); otherwise every video packet is read (no decoding, but the
    whole file passes through). The end is the end of the last packet, found by reading from the
    last keyframe on: a container's header may claim anything (a 3 MB file "lasting" 500 hours).
    Raises MediaError when the file cannot be read.
    """
    name = os.path.basename(path)
    try:
        with av.open(path, metadata_errors="ignore") as container:
            streams = {stream.index: stream for stream in container.streams}
            video = streams.get(video_stream)
            origin = container.start_time / 1_000_000 if container.start_time is not None else 0.0
            if video is not None and video.type == "audio":
                return _sound_timeline(container, video, origin, name)
            if video is None or video.type != "video":
                raise MediaError(f"{name}: it has no video stream {video_stream}.")
            keyframes = _indexed_keyframes(container, video)
            end = _tail_end(container, video, keyframes[-1]) if keyframes else None
            if keyframes:
                # The demuxer notes the keyframes it passes too: a damaged index read only in part
                # is then whole for a short film, and shows its hole in a long one.
                keyframes = _index_keyframes(video)
            indexed = end is not None and _covers(keyframes, end)
            if not indexed:
                # No index, one that names packets the file does not hold (a download cut short), or
                # one with holes (damaged Cues the demuxer read only in part).
                keyframes, end = _scan_video(container, video)
    except av.FFmpegError as exc:
        raise MediaError(f"{name} cannot be read: {exc}") from exc
    if not keyframes or end is None or end <= origin:
        raise MediaError(f"{name}: no playable video found; the file may be damaged.")
    return Timeline(origin=origin, end=end, keyframes=tuple(keyframes), indexed=indexed)


def _sound_timeline(container: av.container.InputContainer, sound, origin: float, name: str) -> Timeline:
    """A sound-only file's timeline: no keyframes (every packet of compressed sound decodes on its
    own, so segments are cut at fixed times), and its end read from the packets: from the last
    entry of the file's index when it has one (an MP4's sample table), else from every packet."""
    entries = _index_keyframes(sound) if _indexed_keyframes(container, sound) else []
    end = _tail_end(container, sound, entries[-1]) if entries else None
    indexed = end is not None
    if end is None:
        _, end = _scan_video(container, sound)
    if end is None or end <= origin:
        raise MediaError(f"{name}: no playable sound found; the file may be damaged.")
    return Timeline(origin=origin, end=end, keyframes=(), indexed=indexed)


def _covers(keyframes: list[float], end: float) -> bool:
    """Whether an index's keyframes plausibly are all of the film's: no gap longer than any GOP."""
    points = [*keyframes, end]
    return keyframes[-1] <= end and all(
        b - a <= LONGEST_GOP for a, b in zip(points, points[1:], strict=False)
    )


def _indexed_keyframes(container: av.container.InputContainer, video) -> list[float] | None:
    """The keyframe times in the container's index, or None when it has none worth trusting."""
    with contextlib.suppress(av.FFmpegError):
        container.seek(0, stream=video)  # Matroska reads its Cues on the first seek
    times = _index_keyframes(video)
    # One entry is only the start the demuxer noted for itself, not an index.
    return times if len(times) >= 2 else None


def _index_keyframes(video) -> list[float]:
    return sorted(
        float(entry.timestamp * video.time_base) for entry in video.index_entries if entry.is_keyframe
    )


def _scan_video(container: av.container.InputContainer, video) -> tuple[list[float], float | None]:
    """Keyframe times and the end, from every packet of the file (no decoding)."""
    container.seek(0, stream=video)
    keyframes: list[float] = []
    end: float | None = None
    for count, packet in enumerate(container.demux()):
        end = _later_end(end, packet)
        if packet.stream_index == video.index and packet.is_keyframe and packet.pts is not None:
            keyframes.append(float(packet.pts * packet.time_base))
        if count > MAX_SCANNED_PACKETS:
            raise av.InvalidDataError(0, "it holds more packets than any film could")
    return keyframes, end


def _tail_end(container: av.container.InputContainer, video, last_keyframe: float) -> float | None:
    """The end of the last packet, read from the last keyframe (a little before it) on."""
    target = int(max(0.0, last_keyframe - 1.0) / video.time_base)
    container.seek(target, stream=video, backward=True)
    end: float | None = None
    for count, packet in enumerate(container.demux()):
        end = _later_end(end, packet)
        if count > MAX_SCANNED_PACKETS:
            raise av.InvalidDataError(0, "it holds more packets than any film could")
    return end


def _later_end(end: float | None, packet: av.Packet) -> float | None:
    start = _seconds(packet.pts if packet.pts is not None else packet.dts, packet.time_base)
    if start is None or not math.isfinite(start):
        return end
    finish = start + (_seconds(packet.duration, packet.time_base) or 0.0)
    return finish if end is None else max(end, finish)


def _kept_timeline(target: Path) -> Timeline | None:
    """A timeline kept in the cache by an earlier read, or None."""
    try:
        data = json.loads(target.read_text("ascii"))
        return Timeline(data["origin"], data["end"], tuple(data["keyframes"]), data.get("indexed", False))
    except (OSError, ValueError, TypeError, KeyError):
        return None


class TimelineJobs:
    """Reads timelines on a worker thread of its own, one job per file, cached on disk.

    Requests never read a whole file themselves: they submit the job (or join the one already
    running for that file) and wait for it a bounded time. A finished timeline is kept in
    `cache_dir` (by path, size and mtime) across restarts.
    """

    def __init__(self, cache_dir: Path, workers: int = SCAN_WORKERS) -> None:
        self.cache_dir = cache_dir
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="couchcast-timeline")
        self._jobs: dict[str, Future] = {}
        self._lock = threading.Lock()
        self.reads = 0  # timelines read from files (not from the cache) since start

    def stop(self) -> None:
        """Drop the reads not started; one under way ends on its own (its thread is a daemon's)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def timeline(self, path: str, video_stream: int, wait: float = SCAN_WAIT) -> Timeline:
        """The file's timeline; raises StillReading when the job takes longer than `wait` seconds."""
        name = _cache_name(identity(path), "timeline", video_stream)
        target = self.cache_dir / f"{name}.json"
        kept = _kept_timeline(target)
        if kept is not None:
            return kept
        with self._lock:
            # Again under the lock: a job may have finished (kept its result, left _jobs) meanwhile.
            kept = _kept_timeline(target)
            if kept is not None:
                return kept
            job = self._jobs.get(name)
            if job is None:
                job = self._jobs[name] = self._pool.submit(self._read, path, video_stream, target, name)
        try:
            return job.result(timeout=wait)
        except FutureTimeout:
            raise StillReading(
                f"Reading {os.path.basename(path)} to find where it can be cut; this takes a while "
                "for a large file on a slow disk. Try again in a few seconds."
            ) from None

    def _read(self, path: str, video_stream: int, target: Path, name: str) -> Timeline:
        with self._lock:
            self.reads += 1
        try:
            timeline = read_timeline(path, video_stream)
            data = {
                "origin": timeline.origin,
                "end": timeline.end,
                "keyframes": timeline.keyframes,
                "indexed": timeline.indexed,
            }
            with contextlib.suppress(OSError):  # a full cache disk: read again next time
                write_atomically(target, json.dumps(data))
            return timeline
        finally:
            with self._lock:
                self._jobs.pop(name, None)


def text_subtitles(info: MediaInfo) -> list[int]:
    """Positions (0, 1, ... among the subtitle streams) of the text subtitles that can become WebVTT."""
    return [number for number, stream in enumerate(info.subtitles) if stream.codec in TEXT_SUBTITLES]


def subtitle_vtt(path: str, number: int, cache_dir: Path) -> Path:
    """The file's `number`th subtitle stream as a WebVTT file, extracted once into `cache_dir`."""
    target = cache_dir / (_cache_name(identity(path), "subtitle", number) + ".vtt")
    with _subtitle_lock:
        if target.exists():
            return target
        with replacing(target) as partial:
            arguments = ["-map", f"0:s:{number}", "-f", "webvtt", str(partial)]
            result = _run_ffmpeg(path, arguments, "subtitles")
            if result.returncode != 0:
                lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
                detail = lines[-1] if lines else "no output"
                raise MediaError(f"{os.path.basename(path)}: could not read its subtitles ({detail}).")
        return target
