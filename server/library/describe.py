"""Fill in what is known about an indexed file: its streams and duration (probe) and thumbnail (ffmpeg).

Runs on the scanner's small worker pool, one file at a time per worker, never on a request.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

from server.library.folders import Shares
from server.library.models import MediaFile
from server.library.paths import NotShared, resolve_media
from server.library.probe import ProbeError, probe
from server.library.thumbnails import ThumbnailCache, ThumbnailError

log = logging.getLogger(__name__)


def thumbnail_lost(folder_id: int, relpath: str, key: str) -> None:
    """The index says this thumbnail was made, but the cache no longer has it (the cache folder was
    emptied while running): describe the file again, so the scanner's workers make it anew."""
    try:
        MediaFile.objects.filter(
            folder_id=folder_id, path=relpath, thumbnail=key, info=MediaFile.Info.READY
        ).update(info=MediaFile.Info.PENDING, thumbnail="")
    except DatabaseError as exc:  # a full disk: the placeholder is shown all the same
        log.warning("Cannot ask for the thumbnail of %s again: %s", relpath, exc)


def describe(media_id: int, shares: Shares, thumbnails: ThumbnailCache) -> None:
    """Probe one file and make its thumbnail; a file that cannot be probed is marked failed, not retried."""
    try:
        media = MediaFile.objects.get(id=media_id, info=MediaFile.Info.PENDING)
    except MediaFile.DoesNotExist:
        return  # removed, changed again, or done by now
    share = shares.available(media.folder_id)
    if share is None:
        return
    try:
        real_path = resolve_media(share.path, media.path)
    except NotShared:
        return  # gone since the scan; the next scan drops the row
    info, duration, thumbnail = MediaFile.Info.READY, None, ""
    probe_json = None
    try:
        media_info = probe(real_path)
        duration, probe_json = media_info.duration, media_info.to_json()
        if media_info.video is not None:
            key = thumbnails.key(real_path, media.size, media.mtime_ns)
            try:
                thumbnails.make(real_path, key, duration)
                thumbnail = key
            except ThumbnailError as exc:
                log.info("No thumbnail: %s", exc)
    except ProbeError as exc:
        log.info("Not described: %s", exc)
        info = MediaFile.Info.FAILED
    # Only if the row still describes the same bytes: a change during the probe wins.
    MediaFile.objects.filter(
        id=media.id, size=media.size, mtime_ns=media.mtime_ns, info=MediaFile.Info.PENDING
    ).update(info=info, duration=duration, probe=probe_json, thumbnail=thumbnail)
