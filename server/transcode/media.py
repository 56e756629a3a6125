"""What the converter needs to know about a file, each read once: probe, keyframes, embedded subtitles.

Results are cached by path + size + mtime, so a changed file is read again. The library index will
hold the probe too; until then this cache keeps a page from running ffmpeg at every request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

from server.ffmpeg import ffmpeg_binary
from server.library.probe import MediaInfo, ProbeError, probe
from server.transcode.matroska import cue_keyframes
from server.transcode.segments import parse_keyframes

SCAN_TIMEOUT = 300
TEXT_SUBTITLES = frozenset({"subrip", "ass", "ssa", "webvtt", "mov_text", "text"})
_subtitle_lock = threading.Lock()


class MediaError(Exception):
    """ffmpeg is missing, or the file cannot be read or converted; the message says which."""


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


def _scan_keyframes(path: str, stream: int) -> list[float]:
    # Copying the video packets to framecrc reads the whole file but decodes nothing: I/O bound
    # (bench/bench_transcode.py prints the rate).
    result = _run_ffmpeg(path, ["-map", f"0:{stream}", "-c", "copy", "-f", "framecrc", "-"], "keyframes")
    times = parse_keyframes(result.stdout.decode("ascii", errors="replace"))
    if not times:
        raise MediaError(f"{os.path.basename(path)}: no keyframes found; the file may be damaged.")
    return times


def keyframes(path: str, stream: int, cache_dir: Path) -> list[float]:
    """The keyframe times of video stream `stream` (its index in the file), in seconds from the start.

    Matroska files usually list them in their index (read in milliseconds); otherwise reading them
    means reading the whole file, so they are kept in `cache_dir` across restarts.
    """
    target = cache_dir / (_cache_name(identity(path), "keyframes", stream) + ".json")
    with contextlib.suppress(OSError, ValueError):
        return [float(time) for time in json.loads(target.read_text("ascii"))]
    times = cue_keyframes(path) or _scan_keyframes(path, stream)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(times), "ascii")
    os.replace(partial, target)
    return times


def text_subtitles(info: MediaInfo) -> list[int]:
    """Positions (0, 1, ... among the subtitle streams) of the text subtitles that can become WebVTT."""
    return [number for number, stream in enumerate(info.subtitles) if stream.codec in TEXT_SUBTITLES]


def subtitle_vtt(path: str, number: int, cache_dir: Path) -> Path:
    """The file's `number`th subtitle stream as a WebVTT file, extracted once into `cache_dir`."""
    target = cache_dir / (_cache_name(identity(path), "subtitle", number) + ".vtt")
    with _subtitle_lock:
        if target.exists():
            return target
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        result = _run_ffmpeg(path, ["-map", f"0:s:{number}", "-f", "webvtt", str(partial)], "subtitles")
        if result.returncode != 0 or not partial.exists():
            partial.unlink(missing_ok=True)
            lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            detail = lines[-1] if lines else "no output"
            raise MediaError(f"{os.path.basename(path)}: could not read its subtitles ({detail}).")
        os.replace(partial, target)
        return target
