"""Subtitles drawn into the picture by a transcode: styled text (ASS/SSA) and pictures (PGS, VobSub, DVB).

A browser shows neither: `<track>` takes WebVTT only, which has no positions, fonts or colours of
ASS signs and no pictures at all. Drawing them into the picture works on every phone, in the
browser's own full-screen player too (where nothing drawn over the page is seen), at the price of a
transcode (see docs/design.md, "Subtitles", for the measurements against drawing ASS on the phone).

The segment engine's command (`segments.ffmpeg_command`) is taken as it is and its video filter
chain put behind the subtitles, so whatever that chain does (scaling, and whatever is added to it)
applies to the picture with its subtitles, and segment N stays the same whichever process made it:
- pictures: `overlay` of the subtitle stream; ffmpeg turns picture subtitles into video frames on
  the subtitle packets' own times, and the process keeps the file's clock (`-copyts`), so a
  subtitle lines up with its picture in a process started anywhere in the film;
- styled text: the `subtitles` filter (libass) on the track extracted once to an .ass file (reading
  it from the film would demux the whole film at every process start, that is at every seek). It
  draws by each frame's time on the file's clock, which `-copyts` keeps.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from server.transcode.media import MediaError, identity, require_ffmpeg
from server.transcode.segments import Rendition, ffmpeg_command

EXTRACT_TIMEOUT = 300
_extract_lock = threading.Lock()


@dataclass(frozen=True)
class BurnedRendition(Rendition):
    """A transcode with one subtitle track drawn into the picture."""

    subtitle_stream: int = -1  # the stream's index in the file
    subtitle_codec: str = ""
    styled_file: str | None = None  # for ASS/SSA: the track extracted to an .ass file (styled_track)


def conversion_command(
    binary: str, rendition: Rendition, *, first: int, filters: frozenset[str] = frozenset()
) -> list[str]:
    """The ffmpeg command for segment `first` on: the engine's own, with subtitles drawn in when asked."""
    command = ffmpeg_command(binary, rendition, first=first, filters=filters)
    if isinstance(rendition, BurnedRendition):
        return with_burned_subtitles(command, rendition)
    return command


def with_burned_subtitles(command: list[str], rendition: BurnedRendition) -> list[str]:
    """`command` with the subtitle track drawn in before the video filter chain (`-vf`)."""
    command = list(command)
    video_map = command.index(f"0:{rendition.video_stream}", command.index("-map"))
    try:
        at = command.index("-vf")
        chain = command[at + 1]
        del command[at : at + 2]
    except ValueError:
        chain = "null"
    if rendition.styled_file is not None:
        drawn = f"[0:{rendition.video_stream}]subtitles=filename={_filter_value(rendition.styled_file)}"
    else:
        # eof_action=pass: after the last subtitle the film goes on without one.
        drawn = f"[0:{rendition.video_stream}][0:{rendition.subtitle_stream}]overlay=eof_action=pass"
    command[video_map] = "[burned]"
    command[video_map - 1 : video_map - 1] = ["-filter_complex", f"{drawn},{chain}[burned]"]
    return command


def _filter_value(text: str) -> str:
    """`text` as one option value inside a filter graph: escaped for the option (\\ ' :), then for
    the graph (\\ ' [ ] , ;). A Windows cache path has a colon and backslashes."""
    for special in ("\\", "'", ":"):
        text = text.replace(special, "\\" + special)
    for special in ("\\", "'", "[", "]", ",", ";"):
        text = text.replace(special, "\\" + special)
    return text


def styled_track(path: str, number: int, cache_dir: Path) -> Path:
    """The file's `number`th subtitle stream (ASS/SSA) as an .ass file, extracted once into `cache_dir`."""
    name = hashlib.sha256(repr((identity(path), "ass", number)).encode()).hexdigest()[:24]
    target = cache_dir / f"{name}.ass"
    with _extract_lock:
        if target.exists():
            return target
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        command = [require_ffmpeg(), "-v", "error", "-nostdin", "-y", "-i", path,
                   "-map", f"0:s:{number}", "-c:s", "ass", "-f", "ass", str(partial)]  # fmt: skip
        try:
            result = subprocess.run(command, capture_output=True, timeout=EXTRACT_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MediaError(f"{os.path.basename(path)}: could not read its subtitles ({exc}).") from exc
        if result.returncode != 0 or not partial.exists():
            partial.unlink(missing_ok=True)
            lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            detail = lines[-1] if lines else "no output"
            raise MediaError(f"{os.path.basename(path)}: could not read its subtitles ({detail}).")
        os.replace(partial, target)
        return target
