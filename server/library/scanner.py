"""The background scanner: keeps the index of every shared folder fresh and describes new files.

One thread polls the shared folders every few seconds (new, changed and removed files show within
`INTERVAL` plus one scan) and hands files waiting for a probe and thumbnail to a small worker pool,
sized for a small machine: ffmpeg is the expensive part, and the videos being watched come first.
Started once per process by `server.app.wsgi_application()`, stopped by `stop()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from server.ffmpeg import ffmpeg_binary
from server.library import folders, index
from server.library.describe import describe
from server.library.models import MediaFile

log = logging.getLogger(__name__)

INTERVAL = float(os.environ.get("COUCHCAST_SCAN_INTERVAL", "3"))
WORKERS = 1 if (os.cpu_count() or 1) <= 2 else 2
# Enough queued work to keep the workers busy between two scans, not the whole backlog at once.
QUEUE_AHEAD = 8
# A file whose description failed for a reason outside it (a full disk, a database that cannot be
# written) waits this long before the next try, instead of running ffmpeg again at once, in a loop.
RETRY_AFTER = float(os.environ.get("COUCHCAST_DESCRIBE_RETRY", "60"))


class Scanner:
    def __init__(self, interval: float = INTERVAL, workers: int = WORKERS) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="couchcast-describe")
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        self._retry_at: dict[int, float] = {}  # media id -> monotonic time of its next try
        self._thread = threading.Thread(target=self._run, name="couchcast-scanner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception:  # a bad pass must not end scanning for the rest of the run
                log.exception("Library scan failed")
            finally:
                close_old_connections()
            self._stop.wait(self.interval)

    def scan_once(self) -> None:
        for share in folders.shared():
            if self._stop.is_set():
                return
            if share.available:
                index.scan(share)
        if ffmpeg_binary() is not None:
            self._queue_descriptions()

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
                describe(media_id)
        except Exception:
            log.exception("Describing file %s failed; trying again in %g s", media_id, RETRY_AFTER)
            with self._in_flight_lock:
                self._retry_at[media_id] = time.monotonic() + RETRY_AFTER
        finally:
            close_old_connections()
            with self._in_flight_lock:
                self._in_flight.discard(media_id)
        if not self._stop.is_set():
            self._queue_descriptions()


_scanner: Scanner | None = None
_scanner_lock = threading.Lock()


def start() -> None:
    """Start the process's scanner (once)."""
    global _scanner
    with _scanner_lock:
        if _scanner is None:
            _scanner = Scanner()
            _scanner.start()


def stop() -> None:
    global _scanner
    with _scanner_lock:
        if _scanner is not None:
            _scanner.stop()
            _scanner = None
