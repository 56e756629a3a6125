"""File-system notifications for the shared folders: which places changed since the index last looked.

watchdog (inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on Windows) reports every change
below a shared folder. This module turns those events into places to read again (one directory's files,
or a whole sub-tree when a folder appeared, vanished or moved) and holds each place back for `DEBOUNCE`
seconds, so that a copy in progress or a burst of changes costs one re-read, not one per event.

A share is trusted to notifications only when they can cover it: `Watcher.watch()` answers with the
reason when they cannot (no native notifications on this system, a network file system, whose changes
made on another machine are never reported here, or the inotify watch limit reached part-way through
the folder), and the scanner then polls that share instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from server.library.media_types import is_subtitle, media_kind
from server.library.paths import is_listable_name

log = logging.getLogger(__name__)

# A changed place is read again this long after its first event; later events meanwhile are folded in.
# Long enough that a file being copied in is re-read about once a second rather than at every write,
# short enough that a new file is in search well within 3 s.
DEBOUNCE = 1.0
# More distinct changed places than this in one share (a folder tree moved in, thousands of files
# renamed at once) are read as one whole-share scan: one walk is cheaper than thousands of small reads.
MAX_PLACES = 1000
# Events that can change what the index holds. Opens, reads and attribute-only events of directories are
# left out: playing a video must not make its folder be read again.
EVENTS = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
# File systems whose changes made on another machine are not reported by the local kernel: a share on
# one of them is polled.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre",
        "gpfs", "virtiofs", "vboxsf", "vmhgfs", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.glusterfs",
        "fuse.gvfsd-fuse", "fuse.vmhgfs-fuse", "fuse.s3fs",
    }
)  # fmt: skip
# Where watchdog (7.x) logs that inotify's queue overflowed.
_WATCHDOG_INOTIFY_LOG = "watchdog.observers.inotify_c"
# A directory made just as its folder is watched is watched a moment later (watchdog adds it when the
# event for it arrives): a check that finds one missing looks again after this long before giving up.
SETTLE = 0.5


@dataclass(frozen=True)
class Place:
    """Where something changed in one shared folder."""

    share_id: int
    relpath: str  # POSIX, relative to the shared folder, "" for the top
    subtree: bool  # everything below it, not only this directory's own files

    def covers(self, other: Place) -> bool:
        """Whether reading this place again also reads `other` again."""
        if not self.subtree or self.share_id != other.share_id:
            return False
        return self.relpath in ("", other.relpath) or other.relpath.startswith(f"{self.relpath}/")


class Watcher:
    """One watchdog observer for every shared folder, and the changed places waiting to be read.

    `on_change` is called (from watchdog's thread) whenever a place is noted, so the scanner can wake.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._lock = threading.Lock()
        self._observer = None
        self._unavailable: str | None = None  # why this system gives no notifications, once known
        self._watches: dict[int, object] = {}  # share id -> watchdog's ObservedWatch
        self._roots: dict[int, str] = {}  # share id -> the real path watched
        self._pending: dict[int, dict[Place, float]] = {}  # share id -> place -> time of its first event
        self._overflow_alarm = _OverflowAlarm(self.rescan_all)

    def watch(self, share_id: int, path: str) -> str | None:
        """Start notifications for a shared folder; None when they cover it, else why they cannot."""
        real_root = os.path.realpath(path)
        problem = _network_filesystem(real_root) or self._start_observer()
        if problem:
            return problem
        handler = _ShareEvents(share_id, real_root, self._note)
        try:
            watch = self._observer.schedule(handler, real_root, recursive=True, event_filter=EVENTS)
        except OSError as exc:
            return f"its changes cannot be watched ({exc.strerror or exc})"
        with self._lock:
            self._watches[share_id] = watch
            self._roots[share_id] = real_root
        problem = self.check(share_id)
        if problem:
            self.unwatch(share_id)
        return problem

    def check(self, share_id: int) -> str | None:
        """Whether every directory of a watched share is still watched (folders made since then need
        watches too, and the system's limit may have been reached): None, or what is missing."""
        with self._lock:
            real_root = self._roots.get(share_id)
        if real_root is None:
            return "it is not watched"
        missing = _unwatched_directory(real_root)
        if missing is not None:
            time.sleep(SETTLE)
            missing = _unwatched_directory(real_root)
        if missing is None:
            return None
        return f"the system's limit on watched folders was reached (at {missing})"

    def unwatch(self, share_id: int) -> None:
        with self._lock:
            watch = self._watches.pop(share_id, None)
            self._roots.pop(share_id, None)
            self._pending.pop(share_id, None)
        if watch is not None:
            # KeyError, OSError: its folder is gone, and watchdog has dropped the watch already.
            with contextlib.suppress(KeyError, OSError):
                self._observer.unschedule(watch)

    def watched(self) -> set[int]:
        with self._lock:
            return set(self._watches)

    def due(self, now: float) -> tuple[list[Place], float | None]:
        """The places whose quiet time is over (taken out, whole trees first, none covered by another),
        and the monotonic time the next one is due, if any is waiting."""
        ready: list[Place] = []
        next_due = None
        with self._lock:
            for share_id, places in list(self._pending.items()):
                for place, first in list(places.items()):
                    if first + DEBOUNCE <= now:
                        ready.append(place)
                        del places[place]
                    elif next_due is None or first < next_due:
                        next_due = first
                if not places:
                    del self._pending[share_id]
        ready.sort(key=lambda place: (not place.subtree, place.relpath.count("/")))
        kept: list[Place] = []
        for place in ready:
            if not any(earlier.covers(place) for earlier in kept):
                kept.append(place)
        return kept, None if next_due is None else next_due + DEBOUNCE

    def rescan_all(self) -> None:
        """Events were lost (the kernel's queue overflowed): every watched share is read again whole."""
        for share_id in self.watched():
            self._note(Place(share_id, "", True))

    def stop(self) -> None:
        """Stop the observer and its threads (the server is stopping)."""
        observer, self._observer = self._observer, None
        logging.getLogger(_WATCHDOG_INOTIFY_LOG).removeHandler(self._overflow_alarm)
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
        with self._lock:
            self._watches.clear()
            self._roots.clear()
            self._pending.clear()

    def _start_observer(self) -> str | None:
        if self._observer is not None or self._unavailable is not None:
            return self._unavailable
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        if issubclass(Observer, PollingObserver):  # watchdog's own fallback: a walk every second
            self._unavailable = "this system offers no file-system notifications"
            return self._unavailable
        try:
            observer = Observer()
            observer.daemon = True
            observer.start()
        except OSError as exc:  # e.g. the per-user limit of inotify instances reached
            self._unavailable = f"file-system notifications cannot be used ({exc.strerror or exc})"
            return self._unavailable
        self._observer = observer
        logging.getLogger(_WATCHDOG_INOTIFY_LOG).addHandler(self._overflow_alarm)
        return None

    def _note(self, place: Place) -> None:
        with self._lock:
            if place.share_id not in self._watches:
                return
            was_idle = not self._pending
            now = time.monotonic()
            places = self._pending.setdefault(place.share_id, {})
            if len(places) >= MAX_PLACES:
                now = min(now, *places.values())
                places.clear()
                place = Place(place.share_id, "", True)
            places.setdefault(place, now)
        if was_idle:  # otherwise the scanner already waits for the first due place, then asks again
            self._on_change()


class _OverflowAlarm(logging.Handler):
    """Hears watchdog say that the kernel's event queue overflowed, which it says only in its log: the
    events lost there are made up for by reading every watched share again."""

    def __init__(self, rescan_all: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._rescan_all = rescan_all

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in str(record.msg).lower():
            self._rescan_all()


class _ShareEvents(FileSystemEventHandler):
    """Turns one shared folder's watchdog events into places (called on watchdog's thread)."""

    def __init__(self, share_id: int, real_root: str, note: Callable[[Place], None]) -> None:
        self._share_id = share_id
        self._real_root = real_root
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            place = path and self._place_for(os.fsdecode(path), event.is_directory)
            if place:
                self._note(place)

    def _place_for(self, path: str, is_directory: bool) -> Place | None:
        relative = os.path.relpath(path, self._real_root)
        if relative == os.curdir:
            return Place(self._share_id, "", True)  # the shared folder itself was moved or deleted
        parts = relative.split(os.sep)
        if parts[0] == os.pardir or not all(is_listable_name(part) for part in parts):
            return None  # hidden and system places are never indexed
        name = parts[-1]
        if is_directory:
            return Place(self._share_id, "/".join(parts), True)
        if media_kind(name) or is_subtitle(name):
            return Place(self._share_id, "/".join(parts[:-1]), False)
        if not os.path.lexists(path):
            # Gone, and its name is no media file's: it may have been a folder (Windows cannot say
            # once it is deleted). Reading a place that is gone costs one query.
            return Place(self._share_id, "/".join(parts), True)
        return None


def _network_filesystem(real_path: str) -> str | None:
    """Why a folder on a network file system cannot rely on notifications, or None (also where the
    system does not say: Linux's mount table is what is read)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            table = mounts.read().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in table:
        fields, _, after = line.partition(" - ")
        mount_point = fields.split(" ")[4].replace("\\040", " ") if fields.count(" ") >= 4 else ""
        inside = real_path == mount_point or real_path.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, fstype = mount_point, after.split(" ")[0]
    if fstype in NETWORK_FILESYSTEMS:
        return f"it is on a network drive ({fstype}), whose changes made elsewhere are not reported"
    return None


def _unwatched_directory(real_root: str) -> str | None:
    """A directory below `real_root` that no inotify watch of this process covers, or None.

    watchdog skips, without a word, sub-folders it could not watch (the system's limit reached), so this
    compares the folder's directories with the watches the kernel lists for this process. Elsewhere than
    Linux there is no such list, and None is the answer (a watch that cannot be made raises there).
    """
    watched = _inotify_watches()
    if watched is None:
        return None
    for directory, _, _ in os.walk(real_root):
        try:
            stat = os.stat(directory)
        except OSError:
            continue  # gone since it was listed
        device = (os.major(stat.st_dev) << 20) | os.minor(stat.st_dev)  # the kernel's own encoding
        if (device, stat.st_ino) not in watched:
            return directory
    return None


def _inotify_watches() -> set[tuple[int, int]] | None:
    """(device, inode) of every directory this process watches with inotify, from /proc; None elsewhere."""
    try:
        descriptors = os.listdir("/proc/self/fdinfo")
    except OSError:
        return None
    watched: set[tuple[int, int]] = set()
    for descriptor in descriptors:
        try:
            with open(f"/proc/self/fdinfo/{descriptor}", encoding="ascii", errors="replace") as info:
                lines = [line for line in info if line.startswith("inotify wd:")]
        except OSError:
            continue  # closed since it was listed
        for line in lines:
            fields = dict(field.split(":", 1) for field in line.split()[1:] if ":" in field)
            try:
                watched.add((int(fields["sdev"], 16), int(fields["ino"], 16)))
            except (KeyError, ValueError):
                continue
    return watched
