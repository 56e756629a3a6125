"""The library index: walk a shared folder (or one place in it) and bring its MediaFile rows up to date.

A scan compares what is on disk (relative path, size, mtime) with the rows: new files are added,
changed ones are marked to be described again (probe, duration, thumbnail), removed ones are
dropped, and unchanged ones are left exactly as they are (never probed twice). The same rules as
every listing apply: hidden and system names are skipped, and symlinks that lead out of the shared
folder are not followed (`paths.is_listable_name`, `paths.stays_inside`).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone

from server.library.folders import Share
from server.library.listing import modified_time, subtitles_for
from server.library.media_types import is_subtitle, media_kind
from server.library.models import MediaFile, SharedFolder
from server.library.paths import is_listable_name, stays_inside

log = logging.getLogger(__name__)

# SQLite integers are 64-bit: a damaged volume's year-36812 mtime is stored as this (date shown as unknown).
MAX_MTIME_NS = 2**63 - 1


@dataclass(frozen=True)
class FileOnDisk:
    path: str  # POSIX, relative to the shared folder
    kind: str
    size: int
    mtime_ns: int
    subtitles: list  # [[relative path, language, label], ...] as stored in MediaFile.subtitles


@dataclass(frozen=True)
class ScanResult:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    saved: bool = True  # False when the differences could not be written (the next scan tries again)


def _read_directory(real_root: str, directory: str, prefix: str) -> tuple[dict[str, FileOnDisk], list[str]]:
    """The media files of one directory (keyed by relative path) and the sub-directories to visit."""
    files: dict[str, FileOnDisk] = {}
    subdirs: list[str] = []
    try:
        with os.scandir(directory) as scan:
            entries = [e for e in scan if is_listable_name(e.name)]
    except OSError:
        return files, subdirs
    # Only subtitle names are matched against each video: a folder of 5,000 videos stays linear.
    subtitle_names = [e.name for e in entries if is_subtitle(e.name)]
    for entry in entries:
        try:
            if entry.is_symlink() and not stays_inside(real_root, entry.path):
                continue
            if entry.is_dir():
                subdirs.append(entry.path)
                continue
            kind = media_kind(entry.name)
            if kind is None or not entry.is_file():
                continue
            stat = entry.stat()
        except OSError:
            continue  # vanished or unreadable between listing and stat
        subtitles = subtitles_for(entry.name, subtitle_names, prefix) if kind == "video" else ()
        files[prefix + entry.name] = FileOnDisk(
            prefix + entry.name,
            kind,
            stat.st_size,
            min(stat.st_mtime_ns, MAX_MTIME_NS),
            [[s.path, s.language, s.label] for s in subtitles],
        )
    return files, subdirs


def walk(root: str, start: str = "") -> dict[str, FileOnDisk]:
    """Every media file under a shared folder, or under its sub-folder `start` (POSIX, relative), keyed by
    relative path. Unreadable places are skipped; a `start` that is gone or leads out has no files."""
    real_root = os.path.realpath(root)
    first = os.path.join(real_root, *start.split("/")) if start else real_root
    if not stays_inside(real_root, first):
        return {}
    found: dict[str, FileOnDisk] = {}
    seen_dirs = {os.path.realpath(first)}
    pending = [(first, f"{start}/" if start else "")]
    while pending:
        directory, prefix = pending.pop()
        files, subdirs = _read_directory(real_root, directory, prefix)
        found.update(files)
        for subdir in subdirs:
            real_dir = os.path.realpath(subdir)
            if real_dir not in seen_dirs:  # a symlink loop, or the same folder twice
                seen_dirs.add(real_dir)
                pending.append((subdir, f"{prefix}{os.path.basename(subdir)}/"))
    return found


class LibraryIndex:
    """One server's scans: one at a time per folder, and which folders were read since it started."""

    def __init__(self) -> None:
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._scanned: set[int] = set()
        self._writes_failing = False  # said once in the log, not on every scan while the disk stays full

    def _lock_for(self, folder_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(folder_id, threading.Lock())

    def scan(self, share: Share) -> ScanResult:
        """Bring the index of one shared folder up to date with the disk (one scan at a time per folder)."""
        with self._lock_for(share.id):
            rows = MediaFile.objects.filter(folder_id=share.id)
            result = self._apply(share, walk(share.path), rows)
            self._scanned.add(share.id)
            return result

    def rescan_place(self, share: Share, relpath: str, *, subtree: bool) -> ScanResult:
        """Bring one place of a shared folder up to date: the files of directory `relpath` (POSIX,
        relative, "" for the top), or with `subtree` everything below it too (a folder that appeared,
        vanished or moved).

        What the file-system notifications ask for: a change costs a re-read of where it happened, not of
        the whole share.
        """
        with self._lock_for(share.id):
            rows = MediaFile.objects.filter(folder_id=share.id)
            if subtree:
                on_disk = walk(share.path, relpath)
                if relpath:
                    # A range on `path` rather than LIKE: SQLite's LIKE ignores case, and "Films/" must not
                    # take in "films/" on a file system where both can exist.
                    rows = rows.filter(path__gte=f"{relpath}/", path__lt=f"{relpath}0")  # "0" follows "/"
            else:
                real_root = os.path.realpath(share.path)
                real_dir = os.path.join(real_root, *relpath.split("/")) if relpath else real_root
                on_disk = {}
                if stays_inside(real_root, real_dir):
                    on_disk = _read_directory(real_root, real_dir, f"{relpath}/" if relpath else "")[0]
                rows = rows.filter(directory=relpath)
            return self._apply(share, on_disk, rows)

    def refresh_directory(self, share: Share, real_dir: str, relpath: str) -> list[str]:
        """Bring one directory's files up to date now and return its sub-folder names, as on disk.

        A listing shows what is there at this moment (a file copied in a second ago, an empty folder
        just made); the scanner keeps the rest (search, other folders, probes) fresh in the background.
        """
        self.ensure_scanned(share)
        with self._lock_for(share.id):
            prefix = f"{relpath}/" if relpath else ""
            files, subdirs = _read_directory(os.path.realpath(share.path), real_dir, prefix)
            self._apply(share, files, MediaFile.objects.filter(folder_id=share.id, directory=relpath))
        return [os.path.basename(subdir) for subdir in subdirs]

    def ensure_scanned(self, share: Share) -> None:
        """Scan now unless this folder was scanned since the process started (a page never shows stale rows
        from a previous run, e.g. right after start or after a folder was added)."""
        if share.id not in self._scanned:
            self.scan(share)

    def _apply(self, share: Share, on_disk: dict[str, FileOnDisk], rows) -> ScanResult:
        """Make `rows` (the index's view of the place that was read) match `on_disk`."""
        folder = SharedFolder.objects.get(id=share.id)
        # On a folder's first scan its files were there before Couchcast: their mtime is the best guess at
        # when they were added. Later arrivals were added when the scanner first saw them.
        first_scan = not MediaFile.objects.filter(folder=folder).exists()
        fields = ("id", "path", "size", "mtime_ns", "subtitles")
        rows = {row[1]: (row[0], row[2], row[3], row[4]) for row in rows.values_list(*fields)}
        now = timezone.now()
        new, changed, retitled = [], [], []
        for path, disk in on_disk.items():
            row = rows.get(path)
            if row is None:
                added = min(now, modified_time(disk.mtime_ns / 1e9) or now) if first_scan else now
                directory, _, name = path.rpartition("/")
                new.append(
                    MediaFile(
                        folder=folder,
                        path=path,
                        directory=directory,
                        name=name,
                        kind=disk.kind,
                        size=disk.size,
                        mtime_ns=disk.mtime_ns,
                        added=added,
                        subtitles=disk.subtitles,
                    )
                )
            elif (row[1], row[2]) != (disk.size, disk.mtime_ns):
                changed.append((row[0], disk))
            elif row[3] != disk.subtitles:
                retitled.append((row[0], disk.subtitles))
        removed = [row[0] for path, row in rows.items() if path not in on_disk]
        if (new or changed or retitled or removed) and not self._write(new, changed, retitled, removed):
            return ScanResult(0, 0, 0, len(rows), saved=False)
        result = ScanResult(len(new), len(changed), len(removed), len(on_disk) - len(new) - len(changed))
        if new or changed or removed:
            log.info("Scanned %s: %s", share.path, result)
        return result

    def _write(
        self,
        new: list[MediaFile],
        changed: list[tuple[int, FileOnDisk]],
        retitled: list[tuple[int, list]],
        removed: list[int],
    ) -> bool:
        """Apply one scan's differences in one transaction. A write that fails (a full disk, most likely)
        leaves the index as it was, and False: pages go on showing it, and the next scan tries again."""
        try:
            with transaction.atomic():
                MediaFile.objects.bulk_create(new, batch_size=500)
                for row_id, disk in changed:
                    MediaFile.objects.filter(id=row_id).update(
                        size=disk.size,
                        mtime_ns=disk.mtime_ns,
                        subtitles=disk.subtitles,
                        info=MediaFile.Info.PENDING,
                        duration=None,
                        probe=None,
                        thumbnail="",
                    )
                for row_id, subtitles in retitled:
                    MediaFile.objects.filter(id=row_id).update(subtitles=subtitles)
                for start in range(0, len(removed), 500):
                    MediaFile.objects.filter(id__in=removed[start : start + 500]).delete()
        except DatabaseError as exc:
            if not self._writes_failing:
                log.warning(
                    "The library index cannot be updated (%s); it keeps what it had until it can", exc
                )
            self._writes_failing = True
            return False
        if self._writes_failing:
            log.info("The library index can be updated again")
            self._writes_failing = False
        return True
