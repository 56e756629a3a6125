"""Where HLS segments start, the VOD playlist that lists them, and the ffmpeg command that feeds them.

Segment N covers the same span of the film whichever ffmpeg process made it, by construction:
- every process keeps the file's own timestamps (`-copyts`) and writes one continuous stream to a
  pipe; `server.transcode.cutter` cuts that stream into segments packet by packet, with one rule
  that depends on the film alone (see its docstring). No cut times are handed to ffmpeg, so nothing
  depends on how a given ffmpeg build counts them (ffmpeg 9 counts `-segment_times` from the first
  packet, ffmpeg 5.1 from zero) or on where its `-ss` lands (on Matroska, MPEG-TS and FLV with
  B-frames it lands up to one keyframe interval early);
- a process starts just before the source keyframe that precedes its first segment (less
  PREROLL_SECONDS), so decoding starts on that keyframe and the packets of the segment are all there,
  whatever the container's seek does;
- transcode: a keyframe is forced on the first frame at or after each SEGMENT_SECONDS mark of the
  film's own clock, and x264 makes no other keyframes (no scene cuts, no keyframe interval), so the
  boundary pictures are the same in every process (ffmpeg 5.1 rounds a mark to the nearest frame,
  ffmpeg 9 takes the next one: within one ffmpeg, every process picks the same frame);
- remux (video copied): boundaries are the file's keyframes, at least MIN_REMUX_SEGMENT apart;
- sound is re-encoded on one grid of AAC frames counted from the film's time zero
  (`aresample=first_pts`), so every process makes the same packets at the same times.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from server.library.probe import Stream
from server.transcode.picture import output_tags, picture_filters

# The first frame and every seek wait for one whole segment to be encoded: 2 s segments halve that
# wait against 4 s ones (720p HEVC here, load average 10: 1 s played after 2.4-3.5 s against 4.0-7.7 s).
SEGMENT_SECONDS = 2.0
# A fixed-length segment shorter than this at the film's end joins the one before (fixed_boundaries).
SHORTEST_LAST_SEGMENT = 0.5
# A remux segment ends at the first keyframe at least this far from its start (copying costs
# nothing, so longer segments only mean fewer requests).
MIN_REMUX_SEGMENT = 3.0
# A keyframe this close after another one is not used as a remux boundary: a keyframe index may give
# times a little off the packets' (an MP4's index holds decode times, up to a few frames early), and
# the cutter accepts a keyframe up to this much before a boundary (a transcode's forced keyframe
# too: ffmpeg 5.1 puts it on the frame nearest the mark). With no other keyframe that near, the one
# it accepts is always the boundary's own.
KEYFRAME_TOLERANCE = 0.5
# Every process starts this long before its first segment (and then further back, just before the
# keyframe there): room for the keyframe tolerance and for the sound encoder to settle before the
# first packet that is kept.
PREROLL_SECONDS = 1.0
# How far before that keyframe a process seeks in a file without an index. MPEG-TS has none: ffmpeg's
# -ss lands near the time asked for, and decoding begins at the next keyframe after where it landed
# (a seek to 27.5 s in a recording began at its keyframe at 31.5 s); asking for a little before a
# known keyframe lands there. With an index (MKV Cues, an MP4's sample table) -ss lands on the
# keyframe asked for, and asking for a little before it would decode a whole GOP more.
SEEK_MARGIN = 0.25
# A transcode process is told the keyframe marks of this many segments (20 minutes of film), then
# ends; the next request starts another. One argument holding every mark of a 6-hour film went past
# Linux's 128 KiB limit for one argument (E2BIG).
TRANSCODE_WINDOW = 600
# Sized for a small 2-core computer. Encoding 4 s of 720p HEVC took 0.6 s with ultrafast and 1.4 s
# with veryfast here (load average 8): the first frame and every seek wait for one segment. Its
# larger files cost nothing on a LAN; the cap keeps a weak Wi-Fi link fed.
MAX_HEIGHT = 720
X264_PRESET = "ultrafast"
X264_CRF = "23"
X264_MAXRATE = "8M"
AUDIO_BITRATE = "160k"
AUDIO_RATE = 48000
AAC_FRAME = 1024  # samples in one AAC packet
# Segments' timestamps are the film's own, less its origin, plus this: the film's first B-frames
# come up to a few frames before its start, and nothing may come before zero (see ffmpeg_command).
TIMESTAMP_BASE = 10.0


@dataclass(frozen=True)
class Timeline:
    """What a file's streams really hold, read from the packets rather than the container's claims.

    Times are the file's own (seconds, as its demuxer gives them): `origin` is where the film starts,
    `end` where its last packet ends, `keyframes` the video keyframes (empty when not read, and for a
    sound-only file, where every packet can start a segment);
    `indexed`: they came from the file's index, so a seek to one of them lands on it exactly.
    """

    origin: float
    end: float
    keyframes: tuple[float, ...] = ()
    indexed: bool = False

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.origin)


def fixed_boundaries(timeline: Timeline, seconds: float = SEGMENT_SECONDS) -> list[float]:
    """Start times (the file's own clock) of fixed-length segments covering the film.

    The last segment is at least SHORTEST_LAST_SEGMENT long: one that would start in the film's
    last picture (a 20.02 s film, pictures until 19.98 s) has no picture to start with, so the
    segment before it runs to the end instead.
    """
    count = max(1, math.ceil((timeline.duration - SHORTEST_LAST_SEGMENT) / seconds - 1e-9))
    return [timeline.origin + index * seconds for index in range(count)]


def keyframe_boundaries(timeline: Timeline, minimum: float = MIN_REMUX_SEGMENT) -> list[float]:
    """Start times of segments cut at keyframes, each at least `minimum` long (the last may be shorter).

    The first segment starts with the film, at its first keyframe. A keyframe with another one less
    than KEYFRAME_TOLERANCE before it is passed over (see KEYFRAME_TOLERANCE).
    """
    times = sorted(timeline.keyframes)
    boundaries = [min(times[0], timeline.origin) if times else timeline.origin]
    for previous, time in zip([-math.inf, *times], times, strict=False):
        if time - boundaries[-1] >= minimum and time - previous >= KEYFRAME_TOLERANCE and time < timeline.end:
            boundaries.append(time)
    return boundaries


def playlist(boundaries: list[float], end: float, segment_uri: Callable[[int], str]) -> str:
    """A VOD playlist of every segment: players know the whole length and can seek anywhere at once."""
    ends = [*boundaries[1:], end]
    lengths = [max(stop - start, 0.001) for start, stop in zip(boundaries, ends, strict=True)]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(lengths)))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    for number, length in enumerate(lengths):
        lines += [f"#EXTINF:{length:.6f},", segment_uri(number)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Rendition:
    """One way of converting one file: what every process making its segments is told."""

    source: str  # the file's path
    kind: str  # "remux" (video copied) or "transcode" (video, if any, re-encoded; sound always is)
    video_stream: int | None  # stream indexes in the file; no video: a sound-only file
    audio_stream: int | None
    origin: float  # the film's start on its own clock (Timeline.origin)
    boundaries: tuple[float, ...]  # segment start times, the file's own clock
    end: float
    keyframes: tuple[float, ...] = ()  # the source's video keyframes (Timeline.keyframes)
    indexed: bool = False  # Timeline.indexed
    video: Stream | None = None  # the probed video stream: colours and field order for a transcode

    def window_end(self, first: int) -> int:
        """The segment a process started at `first` stops before (see TRANSCODE_WINDOW)."""
        if self.kind == "remux":
            return len(self.boundaries)
        return min(len(self.boundaries), first + TRANSCODE_WINDOW)

    def process_start(self, first: int) -> float:
        """Where a process making segment `first` on starts reading, on the file's own clock."""
        wanted = self.boundaries[first] - PREROLL_SECONDS
        keyframe = max((k for k in self.keyframes if k <= wanted), default=wanted)
        return max(self.origin, min(wanted, keyframe) - (0.0 if self.indexed else SEEK_MARGIN))


def _seconds(value: float) -> str:
    return f"{value:.6f}"


def ffmpeg_command(
    binary: str, rendition: Rendition, *, first: int, filters: frozenset[str] = frozenset()
) -> list[str]:
    """ffmpeg arguments that write the rendition from segment `first` on as one NUT stream to stdout.

    NUT keeps every packet's timestamps and keyframe flag exactly, which is all the cutter needs.
    `filters`: the video filters `binary` has (picture.ffmpeg_filters), for deinterlacing and tone
    mapping; without them the picture is only scaled.
    """
    start = rendition.process_start(first)
    command = [binary, "-hide_banner", "-nostdin", "-v", "error"]
    if start > rendition.origin:
        # -ss before -i counts from the file's start; -copyts keeps the file's own clock after it.
        command += ["-ss", _seconds(start - rendition.origin)]
    # Streams by index: "0:v:0" can be a cover picture (an MKV attachment, MP4 cover art). AVI holds
    # no presentation times for B-frames: genpts makes them, NUT refuses packets without.
    command += ["-copyts", "-fflags", "+genpts", "-i", rendition.source]
    if rendition.video_stream is not None:
        command += ["-map", f"0:{rendition.video_stream}"]
    if rendition.audio_stream is not None:
        command += ["-map", f"0:{rendition.audio_stream}"]
    command += ["-sn", "-dn", "-map_metadata", "-1", "-fps_mode", "passthrough"]
    if rendition.video_stream is None:
        command += ["-vn"]
    elif rendition.kind == "remux":
        command += ["-c:v", "copy"]
    else:
        # A keyframe on the first frame at or after each boundary, on the file's own clock (-copyts);
        # none elsewhere (no scene cuts, no keyframe interval), so every process makes the same ones.
        # One mark past the window: the cutter sees where the window's last segment ends.
        marks = rendition.boundaries[first : rendition.window_end(first) + 1]
        # Decoding starts at the keyframe before the process's start (up to 10 s back in a real
        # film); encoding only where the preroll starts: trim counts on the file's clock (-copyts).
        trim = [f"trim=start={_seconds(rendition.boundaries[first] - PREROLL_SECONDS)}"] if first else []
        # Deinterlacing before scaling, tone mapping after it (see picture.picture_filters).
        before, after = picture_filters(rendition.video, filters) if rendition.video else ([], [])
        scale = f"scale=-2:'min({MAX_HEIGHT},trunc(ih/2)*2)'"
        command += [
            "-c:v", "libx264", "-preset", X264_PRESET, "-crf", X264_CRF,
            "-maxrate", X264_MAXRATE, "-bufsize", X264_MAXRATE, "-pix_fmt", "yuv420p",
            "-vf", ",".join([*trim, *before, scale, *after]),
            "-force_key_frames", ",".join(_seconds(mark) for mark in marks),
            "-x264-params", "scenecut=0:keyint=1000000:min-keyint=1",
        ]  # fmt: skip
        if rendition.video is not None:
            command += output_tags(rendition.video, filters)
    if rendition.audio_stream is not None:
        # Always AAC, AAC included: a copied sound track's packets start wherever its source's do,
        # and segments from different processes would then overlap or leave gaps.
        grid = math.ceil(start * AUDIO_RATE / AAC_FRAME - 1e-9) * AAC_FRAME
        command += [
            "-c:a", "aac", "-ac", "2", "-b:a", AUDIO_BITRATE,
            "-af", f"aresample={AUDIO_RATE}:async=1:first_pts={grid}",
        ]  # fmt: skip
    # One shift for every process, so no packet is ever before zero: a muxer shifts a stream that
    # starts below zero on its own (the copied B-frames of a film's first GOP do), and only the
    # process that started at the film's beginning would have been shifted.
    command += ["-output_ts_offset", _seconds(TIMESTAMP_BASE - rendition.origin)]
    command += ["-max_muxing_queue_size", "4096", "-f", "nut", "pipe:1"]
    return command
