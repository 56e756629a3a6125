"""Where HLS segments start, the VOD playlist that lists them, and the ffmpeg command that makes them.

Segment N always covers the same span of the film, whichever ffmpeg process made it, so a process
can be started at any segment (a seek) and its segments fit those made before:
- transcode: fixed 2 s segments; the encoder is told to put a keyframe at each boundary.
- remux (video copied): a copied video can only be cut at its own keyframes, so the boundaries are
  the file's keyframes, at least 3 s apart (`keyframe_boundaries`). Segments are then 3 s to a
  GOP long; a file with 10 s GOPs gets 10 s segments, which players handle the same way.
Each process seeks with `-ss` before `-i` and shifts its output back with `-output_ts_offset`, so the
timestamps inside segment N are the same whichever process made it (checked with ffprobe: equal
video PTS/DTS; the re-encoded sound may start up to one AAC frame later after a seek).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The first frame and every seek wait for one whole segment to be encoded: 2 s segments halve that
# wait against 4 s ones (720p HEVC here, load average 10: 1 s played after 2.4-3.5 s against 4.0-7.7 s).
SEGMENT_SECONDS = 2.0
# A remux segment ends at the first keyframe at least this far from its start (copying costs
# nothing, so longer segments only mean fewer requests).
MIN_REMUX_SEGMENT = 3.0
# Sized for a small 2-core computer. Encoding 4 s of 720p HEVC took 0.6 s with ultrafast and 1.4 s
# with veryfast here (load average 8): the first frame and every seek wait for one segment. Its
# larger files cost nothing on a LAN; the cap keeps a weak Wi-Fi link fed.
MAX_HEIGHT = 720
X264_PRESET = "ultrafast"
X264_CRF = "23"
X264_MAXRATE = "8M"
AUDIO_BITRATE = "160k"
# Seconds of sound left out at the start of a process that starts at a seek (see ffmpeg_command).
AUDIO_GAP_AFTER_SEEK = 0.15
# Seconds added to every timestamp in the segments (see ffmpeg_command).
TIMESTAMP_BASE = 10.0


def fixed_boundaries(duration: float, seconds: float = SEGMENT_SECONDS) -> list[float]:
    """Start times of fixed-length segments covering `duration`."""
    count = max(1, math.ceil(duration / seconds - 1e-9))
    return [index * seconds for index in range(count)]


def keyframe_boundaries(
    keyframes: list[float], duration: float, minimum: float = MIN_REMUX_SEGMENT
) -> list[float]:
    """Start times of segments cut at keyframes, each at least `minimum` long (the last may be shorter)."""
    boundaries = [0.0]
    for time in sorted(keyframes):
        if time - boundaries[-1] >= minimum and time < duration:
            boundaries.append(time)
    return boundaries


def playlist(boundaries: list[float], duration: float, segment_name: str) -> str:
    """A VOD playlist of every segment: players know the whole length and can seek anywhere at once.

    `segment_name` is a format string taking the segment number, e.g. "transcode-{}.ts".
    """
    ends = [*boundaries[1:], duration]
    lengths = [max(end - start, 0.001) for start, end in zip(boundaries, ends, strict=True)]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(lengths)))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    for number, length in enumerate(lengths):
        lines += [f"#EXTINF:{length:.6f},", segment_name.format(number)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _seconds(value: float) -> str:
    # Rounded up to the microsecond: a seek to just before a keyframe would land on the one before.
    return f"{math.ceil(value * 1_000_000) / 1_000_000:.6f}"


@dataclass(frozen=True)
class Rendition:
    """One way of converting one file: what every process making its segments is told."""

    source: str  # the file's path
    kind: str  # "remux" (video copied) or "transcode"
    video_stream: int  # stream indexes in the file
    audio_stream: int | None
    boundaries: tuple[float, ...]  # segment start times
    duration: float


def ffmpeg_command(
    binary: str, rendition: Rendition, *, first: int, segment_pattern: str, list_path: str
) -> list[str]:
    """ffmpeg arguments that write segments `first`, `first`+1, ... of the rendition as MPEG-TS files.

    `segment_pattern` is a printf pattern (`.../transcode-%d.ts`); each finished segment is appended
    to the CSV at `list_path`, which is how the server knows a segment is complete.
    """
    start = rendition.boundaries[first]
    # The segment muxer takes cut times relative to this process's start. One past the end when
    # this is the last segment, or it would fall back to its own 2 s default.
    cuts = [b - start for b in rendition.boundaries[first + 1 :]] or [rendition.duration - start + 3600]
    command = [binary, "-hide_banner", "-nostdin", "-v", "error"]
    if first > 0:
        command += ["-ss", _seconds(start)]
    # Streams by index: "0:v:0" can be a cover picture (an MKV attachment, MP4 cover art).
    command += ["-i", rendition.source, "-map", f"0:{rendition.video_stream}"]
    if rendition.audio_stream is not None:
        command += ["-map", f"0:{rendition.audio_stream}"]
    command += ["-sn", "-dn", "-map_metadata", "-1"]
    if rendition.kind == "remux":
        command += ["-c:v", "copy"]
    else:
        command += [
            "-c:v", "libx264", "-preset", X264_PRESET, "-crf", X264_CRF,
            "-maxrate", X264_MAXRATE, "-bufsize", X264_MAXRATE, "-pix_fmt", "yuv420p",
            "-vf", f"scale=-2:'min({MAX_HEIGHT},trunc(ih/2)*2)'",
            "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS:g})",
        ]  # fmt: skip
    if rendition.audio_stream is not None:
        # Always AAC, AAC included: a copied sound track starts at its own packet boundaries after a
        # seek (2.1 s early in an MP4 here), so segments from a seek would not fit their neighbours.
        command += ["-c:a", "aac", "-ac", "2", "-b:a", AUDIO_BITRATE]
        if first > 0:
            # The muxer puts sound packets up to a few tens of ms past a cut into the segment before
            # it; a segment from a seek that followed one from another process would then overlap it
            # ("Parsed buffers not in DTS sequence" in Chromium). Starting its sound a little later
            # leaves a gap instead, which players bridge.
            command += ["-af", f"atrim=start={AUDIO_GAP_AFTER_SEEK}"]
    # Every process shifts its output by the same base plus its start, so no packet is ever
    # before 0 and the muxers never shift timestamps on their own (they did for x264's B-frames:
    # segment 0 then overlapped segment 1 and Chromium stopped with "buffers not in DTS sequence").
    command += ["-output_ts_offset", _seconds(TIMESTAMP_BASE + start)]
    command += [
        "-avoid_negative_ts", "disabled",
        "-max_muxing_queue_size", "4096",
        "-f", "segment", "-segment_format", "mpegts",
        "-segment_times", ",".join(f"{cut:.6f}" for cut in cuts),
        "-segment_start_number", str(first),
        "-segment_list", list_path, "-segment_list_type", "csv",
        segment_pattern,
    ]  # fmt: skip
    return command


def parse_keyframes(framecrc: str) -> list[float]:
    """Keyframe times (seconds) from `ffmpeg -c copy -f framecrc` output of one video stream."""
    numerator, denominator = 1, 1000
    times = []
    for line in framecrc.splitlines():
        if line.startswith("#tb 0:"):
            numerator, denominator = (int(part) for part in line.split(":", 1)[1].strip().split("/"))
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        flags = next((f[2:] for f in fields[6:] if f.startswith("F=")), None)
        # framecrc prints F= only when the flags are not exactly "keyframe".
        if flags is None or int(flags, 16) & 1:
            times.append(int(fields[2]) * numerator / denominator)
    return times
