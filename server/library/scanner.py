"""The background scanner: keeps the index of every shared folder fresh and describes new files.

Each shared folder is read whole once when it starts being shared (at start, or when added at run time).
After that, file-system notifications (`server.library.watcher`) say which places changed, and only those
are read again, a second after the change; a slow safety rescan every `RESCAN_INTERVAL` catches anything
a notification missed. A share notifications cannot cover (a network drive, the system's limit on watched
folders reached, no notifications on this system) is polled whole every `INTERVAL` instead, and the log
says so once. Files waiting for a probe and thumbnail go to a small worker pool, sized for a small
machine: ffmpeg is the expensive part, and the videos being watched come first.
Each server's runtime (`server.runtime`) starts one and stops it with the server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from server.ffmpeg import ffmpeg_binary
from server.library.describe import describe
from server.library.folders import Share, Shares
from server.library.index import LibraryIndex, ScanResult
from server.library.models import MediaFile
from server.library.thumbnails import ThumbnailCache
from server.library.watcher import Watcher
from server.options import INTERVAL, RESCAN_INTERVAL, RETRY_AFTER

log = logging.getLogger(__name__)

WORKERS = 1 if (os.cpu_count() or 1) <= 2 else 2
# Enough queued work to keep the workers busy between two scans, not the whole backlog at once.
QUEUE_AHEAD = 8


class Scanner:
    """Keeps one server's shares indexed and described, on its own thread until `stop()`."""

    def __init__(
        self,
        shares: Shares,
        index: LibraryIndex,
        thumbnails: ThumbnailCache,
        *,
        interval: float = INTERVAL,
        workers: int = WORKERS,
        rescan_interval: float = RESCAN_INTERVAL,
        notifications: bool = True,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self.shares = shares
        self.index = index
        self.thumbnails = thumbnails
        self.interval = interval
        self.rescan_interval = rescan_interval
        self.retry_after = retry_after
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the watcher when a place changed, and by stop()
        self._watcher = Watcher(on_change=self._wake.set) if notifications else None
        self._next_scan: dict[int, float] = {}  # share id -> monotonic time of its next whole read
        self._scanned: set[int] = set()  # shares read whole since they were (re)shared
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="couchcast-describe")
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        self._retry_at: dict[int, float] = {}  # media id -> monotonic time of its next try
        self._thread = threading.Thread(target=self._run, name="couchcast-scanner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread.join(timeout)
        if self._watcher is not None:
            self._watcher.stop()

    def watched(self) -> set[int]:
        """The ids of the shares whose changes come by notification (the others are polled)."""
        return self._watcher.watched() if self._watcher is not None else set()

    def _run(self) -> None:
        while not self._stop.is_set():
            wake_at = time.monotonic() + self.interval
            try:
                wake_at = min(wake_at, self.scan_once())
            except Exception:  # a bad pass must not end scanning for the rest of the run
                log.exception("Library scan failed")
            finally:
                close_old_connections()
            self._wake.wait(max(0.0, wake_at - time.monotonic()))
            self._wake.clear()

    def scan_once(self) -> float:
        """Read what is due (changed places, whole shares on their schedule); return when to look next."""
        now = time.monotonic()
        shares = {share.id: share for share in self.shares.shared() if share.available}
        self._follow_shares(shares)
        wake_at = now + self.interval
        if self._watcher is not None:
            places, next_due = self._watcher.due(now)
            for place in places:
                if self._stop.is_set():
                    return wake_at
                share = shares.get(place.share_id)
                if share is not None and share.id in self._next_scan:
                    self._saved(share, self.index.rescan_place(share, place.relpath, subtree=place.subtree))
            if next_due is not None:
                wake_at = min(wake_at, next_due)
        for share in shares.values():
            if self._stop.is_set():
                return wake_at
            if self._next_scan[share.id] <= time.monotonic():
                self._scan_whole(share)
            wake_at = min(wake_at, self._next_scan[share.id])
        if ffmpeg_binary() is not None:
            self._queue_descriptions()
        return wake_at

    def _follow_shares(self, shares: dict[int, Share]) -> None:
        """Forget shares no longer shared (or unplugged); watch the new ones, and read them whole at once."""
        for share_id in set(self._next_scan) - set(shares):
            del self._next_scan[share_id]
            self._scanned.discard(share_id)
            if self._watcher is not None:
                self._watcher.unwatch(share_id)
        for share in shares.values():
            if share.id not in self._next_scan:
                # Watched before the first read, so that nothing changed during that read is missed.
                self._watch(share)
                self._next_scan[share.id] = time.monotonic()

    def _watch(self, share: Share) -> None:
        if self._watcher is not None:
            self._poll_if(share, self._watcher.watch(share.id, share.path))

    def _scan_whole(self, share: Share) -> None:
        watched = share.id in self.watched()
        if watched and share.id in self._scanned:  # a safety rescan: are its new folders watched too?
            watched = not self._poll_if(share, self._watcher.check(share.id))
        self._scanned.add(share.id)
        self._next_scan[share.id] = time.monotonic() + (self.rescan_interval if watched else self.interval)
        self._saved(share, self.index.scan(share))

    def _poll_if(self, share: Share, problem: str | None) -> bool:
        """Poll a share whose changes notifications cannot cover (said once in the log)."""
        if problem is None:
            return False
        self._watcher.unwatch(share.id)
        log.warning("Folder %s: %s; it is read again every %g s instead", share.path, problem, self.interval)
        return True

    def _saved(self, share: Share, result: ScanResult) -> None:
        """A change the index could not write (a full disk) is read again, whole, at the polling pace
        until it can be."""
        if not result.saved:
            self._next_scan[share.id] = min(self._next_scan[share.id], time.monotonic() + self.interval)

    def _queue_descriptions(self) -> None:
        with self._in_flight_lock:
            room = QUEUE_AHEAD - len(self._in_flight)
            if room <= 0:
                return
            now = time.monotonic()
            for media_id, retry_at in list(self._retry_at.items()):
                if retry_at <= now:
                    del self._retry_at[media_id]
            held_back = self._in_flight.union(self._retry_at)
            waiting = MediaFile.objects.filter(info=MediaFile.Info.PENDING).exclude(id__in=held_back)
            # Videos before audio, then newest first: what was just added is what people look for.
            for media_id in waiting.order_by("-kind", "-added").values_list("id", flat=True)[:room]:
                self._in_flight.add(media_id)
                try:
                    self._pool.submit(self._describe, media_id)
                except RuntimeError:  # the pool was shut down by stop()
                    self._in_flight.discard(media_id)
                    return

    def _describe(self, media_id: int) -> None:
        try:
            if not self._stop.is_set():
                describe(media_id, self.shares, self.thumbnails)
        except Exception:
            log.exception("Describing file %s failed; trying again in %g s", media_id, self.retry_after)
            with self._in_flight_lock:
                self._retry_at[media_id] = time.monotonic() + self.retry_after
        finally:
            close_old_connections()
            with self._in_flight_lock:
                self._in_flight.discard(media_id)
        if not self._stop.is_set():
            self._queue_descriptions()
