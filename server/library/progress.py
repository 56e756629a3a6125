"""Where each file was left off: saved while playing, offered on every device, "watched" at the end."""

from __future__ import annotations

from django.utils import timezone

from server.library.models import WatchProgress

# Stopping in the last seconds (credits) counts as the end; starting counts only after a few seconds.
END_MARGIN = 15.0
END_SHARE = 0.97
START_MARGIN = 5.0


def reaches_the_end(position: float, duration: float | None) -> bool:
    if not duration or duration <= 0:
        return False
    return position >= max(duration - END_MARGIN, duration * END_SHARE)


def record(folder_id: int, path: str, position: float, duration: float | None, ended: bool) -> WatchProgress:
    """Save a position; played to the end (or nearly) means watched, and the next start is from 0."""
    finished = ended or reaches_the_end(position, duration)
    progress, _ = WatchProgress.objects.get_or_create(
        folder_id=folder_id, path=path, defaults={"updated": timezone.now()}
    )
    progress.position = 0.0 if finished else max(0.0, position)
    progress.duration = duration if duration and duration > 0 else progress.duration
    progress.watched = progress.watched or finished
    progress.updated = timezone.now()
    progress.save()
    return progress


def resume_position(progress: WatchProgress | None) -> float:
    """The position to offer ("Resume at 12:34"), or 0 when it is not worth offering."""
    if progress is None or progress.position < START_MARGIN:
        return 0.0
    return progress.position


def clock(seconds: float | None) -> str:
    """12:34 or 1:02:03, as a player shows times."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
