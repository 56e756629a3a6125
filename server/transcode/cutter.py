"""Cuts the continuous stream of one ffmpeg process into HLS segments, packet by packet (PyAV).

The rule that makes segment N the same whichever process made it (a process started at N after a
seek, one that played in order from 0, one restarted after a pause):
- video: segment N starts at the first keyframe whose time is at or after boundary N, less
  KEYFRAME_TOLERANCE, and holds every packet in decode order up to the keyframe that
  starts N+1 (open-GOP pictures that follow that keyframe included). Each segment's first decode
  time is therefore after the previous one's last: Chromium refuses segments that overlap
  ("Parsed buffers not in DTS sequence");
- sound: segment N holds the packets whose time is in [boundary N, boundary N+1). The packets lie on
  one grid from the film's time zero in every process (see segments.ffmpeg_command). In a sound-only
  file this rule alone cuts: every AAC packet can start a segment.
Timestamps are the file's own clock shifted by one constant (segments.TIMESTAMP_BASE), so segments
from different processes fit together. A finished segment is written as `<n>.ts.part` and renamed
to `<n>.ts`: a request never sees half a segment.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import av

from server.transcode.segments import KEYFRAME_TOLERANCE, TIMESTAMP_BASE, Rendition

log = logging.getLogger(__name__)

# Sound packets kept for segments that have not started yet; ffmpeg interleaves the two streams
# within about a second (about 50 packets), so more means a stream stopped. Past it they are dropped.
MAX_HELD_PACKETS = 5000


class _Segment:
    """One segment file being written."""

    def __init__(self, directory: Path, number: int, templates: list[av.stream.Stream]) -> None:
        self.number = number
        self.final = directory / f"{number}.ts"
        self.partial = directory / f"{number}.ts.part"
        # Each segment is a muxer of its own, so its continuity counters start afresh: said so in
        # its first packets, or players that read segments as one stream (ffmpeg's and mpv's HLS,
        # VLC) take the jump for damage and drop the picture before it.
        self.container = av.open(
            str(self.partial), "w", format="mpegts", options={"mpegts_flags": "+initial_discontinuity"}
        )
        self.streams = {
            template.index: self.container.add_stream_from_template(template) for template in templates
        }

    def write(self, packet: av.Packet) -> None:
        packet.stream = self.streams[packet.stream_index]
        self.container.mux(packet)

    def finish(self) -> Path:
        self.container.close()
        try:
            os.replace(self.partial, self.final)
        except PermissionError:
            # Windows: the same segment, made before by another process, is being sent. Keep that one.
            self.partial.unlink(missing_ok=True)
        return self.final

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()
        self.partial.unlink(missing_ok=True)


class Outcome(enum.Enum):
    """How cutting one process's stream ended."""

    FILM_ENDED = "the stream ended: the film's last segment is complete"
    WINDOW_ENDED = "the process made every segment it was started for"
    STOPPED = "the process was being stopped"
    BROKEN = "the stream was cut short or unreadable"


class Cutter:
    """Reads one process's NUT stream and writes segments `first` to `last` - 1 into `directory`.

    `proceed(n)` is called before segment n starts and may block (the viewer is far behind); it
    returns False when the process is being stopped. `finished(n, path)` is called for each segment
    once it is complete.
    """

    def __init__(
        self,
        rendition: Rendition,
        first: int,
        last: int,
        directory: Path,
        proceed: Callable[[int], bool],
        finished: Callable[[int, Path], None],
    ) -> None:
        self.rendition = rendition
        self.first = first
        self.last = last
        self.directory = directory
        self.proceed = proceed
        self.finished = finished
        self.video_at = first - 1  # the segment video packets go to now (first-1: not started)
        self.sound_at = first  # the segment sound packets go to now
        self.open: dict[int, _Segment] = {}
        self.held: list[tuple[int, av.Packet]] = []  # sound for segments not open yet
        self.outcome: Outcome | None = None  # set when cutting must end early

    def run(self, stream: IO[bytes]) -> Outcome:
        """Cut until the stream or the window ends, or the process is stopped."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with av.open(stream, "r", format="nut") as source:
                templates = list(source.streams)
                video = next((s.index for s in templates if s.type == "video"), None)
                for packet in source.demux():
                    if packet.pts is None and packet.dts is None:
                        continue  # demux's end-of-stream marker
                    if packet.stream_index == video:
                        self._video(packet, templates)
                    elif video is None:
                        self._sound_only(packet, templates)
                    else:
                        self._sound(packet)
                    if self.outcome is not None:
                        return self.outcome
        except (av.FFmpegError, StopIteration, OSError) as exc:
            # A stream cut short (the process was killed, or failed: the scheduler reads why).
            log.debug("Cutting stopped: %s", exc)
            self._discard_all()
            return Outcome.BROKEN
        self._finish_all()
        return Outcome.FILM_ENDED

    def _time(self, packet: av.Packet) -> float:
        """The packet's time on the file's own clock (ffmpeg shifted it by the same for every process)."""
        value = packet.pts if packet.pts is not None else packet.dts
        return float(value * packet.time_base) - TIMESTAMP_BASE + self.rendition.origin

    def _segment_of(self, time: float, tolerance: float) -> int:
        """The last segment whose boundary (less `tolerance`) is at or before `time`."""
        boundaries = self.rendition.boundaries
        number = max(self.video_at, 0)
        while number + 1 < len(boundaries) and time >= boundaries[number + 1] - tolerance:
            number += 1
        return number

    def _video(self, packet: av.Packet, templates: list) -> None:
        if packet.is_keyframe:
            number = self._segment_of(self._time(packet), KEYFRAME_TOLERANCE)
            if number >= self.last:
                self._finish_all()
                self.outcome = Outcome.WINDOW_ENDED
                return
            if number > self.video_at and number >= self.first:
                self._start_video_segment(number, templates)
                if self.outcome is not None:
                    return
        if self.video_at < self.first:
            return  # before the first segment's keyframe: preroll
        self.open[self.video_at].write(packet)

    def _start_video_segment(self, number: int, templates: list) -> None:
        if not self.proceed(number):
            self.outcome = Outcome.STOPPED
            self._discard_all()
            return
        if self.video_at >= self.first and number > self.video_at + 1:
            log.warning(
                "%s: no keyframe for segments %d-%d; they stay empty",
                self.rendition.source,
                self.video_at + 1,
                number - 1,
            )
        previous, self.video_at = self.video_at, number
        self.open[number] = _Segment(self.directory, number, templates)
        still_held = []
        for held_number, held in self.held:
            if held_number == number:
                self.open[number].write(held)
            elif held_number > number:
                still_held.append((held_number, held))
        self.held = still_held
        if previous >= self.first:
            self._complete_up_to()

    def _sound_only(self, packet: av.Packet, templates: list) -> None:
        """A sound-only stream: segment N starts with its first packet at or after boundary N."""
        time = self._time(packet)
        if time < self.rendition.boundaries[self.first]:
            return  # preroll
        number = self._segment_of(time, 0.0)
        if number >= self.last:
            self._finish_all()
            self.outcome = Outcome.WINDOW_ENDED
            return
        if number > self.video_at:
            self.sound_at = number  # the segments before are complete: nothing more goes there
            self._start_video_segment(number, templates)
            if self.outcome is not None:
                return
        self.open[self.video_at].write(packet)

    def _sound(self, packet: av.Packet) -> None:
        time = self._time(packet)
        boundaries = self.rendition.boundaries
        if time < boundaries[self.first]:
            return  # preroll
        number = self.sound_at
        while number + 1 < len(boundaries) and time >= boundaries[number + 1]:
            number += 1
        self.sound_at = number
        segment = self.open.get(number)
        if segment is not None:
            segment.write(packet)
        elif number > self.video_at and len(self.held) < MAX_HELD_PACKETS:
            self.held.append((number, packet))
        self._complete_up_to()

    def _complete_up_to(self) -> None:
        """Finish each open segment that both streams have moved past.

        Sound that is a whole segment behind the video has ended or stopped (ffmpeg fills gaps in
        the sound with silence): its segment does not wait for it.
        """
        no_sound = self.rendition.audio_stream is None
        for number in sorted(self.open):
            sound_past = no_sound or number < self.sound_at or number < self.video_at - 1
            if number >= self.video_at or not sound_past:
                break
            self.finished(number, self.open.pop(number).finish())

    def _finish_all(self) -> None:
        for number in sorted(self.open):
            self.finished(number, self.open.pop(number).finish())

    def _discard_all(self) -> None:
        for segment in self.open.values():
            segment.discard()
        self.open.clear()
