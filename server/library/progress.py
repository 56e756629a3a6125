"""Where each file was left off: saved while playing, offered on every device, "watched" at the end.

A report is checked before it is saved (`position_problem`), and a stored position is checked again
before it is shown (`resume_position`): a row written by an older version, or for a file since
replaced by a shorter one, is never offered and never breaks a page.
"""

from __future__ import annotations

import math

from django.utils import timezone

from server.library.models import WatchProgress

# Stopping in the last seconds (credits) counts as the end; starting counts only after a few seconds.
END_MARGIN = 15.0
END_SHARE = 0.97
START_MARGIN = 5.0
# No file a phone plays lasts a week; the longest real ones (a day-long livestream archive, a camera's
# 24 hours) fit with room to spare. The bound for a position or duration when the length is unknown.
LONGEST_MEDIA = 7 * 24 * 3600.0
# How far a position may run past the length the index knows: browsers count a frame past the
# container's figure, and ffmpeg only estimates the length of some files (VBR MP3 without a header,
# joined or damaged recordings) by tens of percent. Twice the length plus a minute covers those; a
# position that is further still is not a place in this file.
PAST_THE_END_FACTOR = 2.0
PAST_THE_END_SECONDS = 60.0


def seconds_problem(value: object) -> str | None:
    """Why `value` is not a time in a media file ("must be ..."), or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of seconds"
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        finite = False
    if not finite:
        return "must be a finite number of seconds"
    if value < 0:
        return "cannot be negative"
    if value > LONGEST_MEDIA:
        return "is more than a week: no video is that long"
    return None


def stored_seconds(value: object) -> float | None:
    """A stored time as a float, or None when it could not be right (written by an older version)."""
    return None if value is None or seconds_problem(value) else float(value)


def position_problem(position: object, duration: float | None) -> str | None:
    """Why `position` is not a place in a file of `duration` seconds (None: unknown), or None."""
    problem = seconds_problem(position)
    if problem or duration is None or position <= duration * PAST_THE_END_FACTOR + PAST_THE_END_SECONDS:
        return problem
    return f"is past the end of this file, which is {clock(duration)} long"


def reaches_the_end(position: float, duration: float | None) -> bool:
    if not duration or duration <= 0:
        return False
    return position >= max(duration - END_MARGIN, duration * END_SHARE)


# The longest subtitle choice kept ("s:" and a file name: 255 bytes on every common file system).
MAX_SUBTITLE_CHOICE = 300


def tracks_problem(audio: object, subtitles: object) -> str | None:
    """Why a reported track choice cannot be kept ('"audio" must be ...'), or None."""
    bad_audio = isinstance(audio, bool) or not isinstance(audio, int) or not 0 <= audio < 100_000
    if audio is not None and bad_audio:
        return '"audio" must be a stream number'
    if subtitles is not None and (not isinstance(subtitles, str) or len(subtitles) > MAX_SUBTITLE_CHOICE):
        return f'"subtitles" must be a track name of at most {MAX_SUBTITLE_CHOICE} characters'
    return None


def record(
    folder_id: int,
    path: str,
    position: float,
    duration: float | None,
    ended: bool,
    *,
    audio: int | None = None,
    subtitles: str | None = None,
) -> WatchProgress:
    """Save a position; played to the end (or nearly) means watched, and the next start is from 0.

    `audio` and `subtitles`, when given, are the tracks chosen (see WatchProgress); None keeps
    what was kept before."""
    finished = ended or reaches_the_end(position, duration)
    progress, _ = WatchProgress.objects.get_or_create(
        folder_id=folder_id, path=path, defaults={"updated": timezone.now()}
    )
    progress.position = 0.0 if finished else max(0.0, position)
    progress.duration = duration if duration and duration > 0 else progress.duration
    progress.watched = progress.watched or finished
    if audio is not None:
        progress.audio = audio
    if subtitles is not None:
        progress.subtitles = subtitles
    progress.updated = timezone.now()
    progress.save()
    return progress


def resume_position(progress: WatchProgress | None, duration: float | None) -> float:
    """The position to offer ("Resume at 12:34"), or 0 when it is not worth offering or could not be
    a place in this file of `duration` seconds (a bad row of an older version, a file replaced)."""
    if progress is None or position_problem(progress.position, duration) or progress.position < START_MARGIN:
        return 0.0
    return float(progress.position)


def chosen_tracks(folder_id: int, path: str) -> dict:
    """The tracks chosen last time for this file: {"audio": stream index or None, "subtitles": ""|...}."""
    row = WatchProgress.objects.filter(folder_id=folder_id, path=path).values("audio", "subtitles").first()
    return row or {"audio": None, "subtitles": ""}


def clock(seconds: float | None) -> str:
    """12:34 or 1:02:03, as a player shows times ("" for no time, or one that cannot be a time)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
