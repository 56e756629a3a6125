"""What the library shows, read from the index: a folder's contents, search, "Continue watching".

Everything here reads SQLite only (never the disk), so a page of 5,000 files is quick; the scanner
keeps the index fresh. Items carry their URLs and watch progress, ready for a template or the API.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from django.urls import reverse

from server.library.codecs import file_type
from server.library.folders import Share
from server.library.index import MAX_MTIME_NS
from server.library.listing import modified_time, natural_key
from server.library.models import MediaFile, WatchProgress
from server.library.probe import MediaInfo
from server.library.progress import clock, resume_position, stored_seconds
from server.library.titles import readable_title

SORTS = {"name": "Name", "added": "Date added", "watched": "Recently watched"}
CONTINUE_LIMIT = 12
SEARCH_LIMIT = 200
_LISTED_FIELDS = ("id", "folder_id", "path", "name", "kind", "size", "mtime_ns", "added", "subtitles")
_LISTED_FIELDS += ("duration", "thumbnail", "info")


@dataclass(frozen=True)
class SubtitleTrack:
    label: str
    language: str | None
    url: str


@dataclass
class Item:
    """A media file as people see it: title, duration, picture, where it was left off."""

    folder_id: int
    path: str
    name: str
    kind: str
    title: str
    size: int
    modified: datetime | None
    added: datetime
    duration: float | None
    stream_url: str
    watch_url: str
    thumbnail_url: str | None
    described: bool  # False while ffmpeg has not looked at it yet
    subtitles: list[SubtitleTrack] = field(default_factory=list)
    position: float = 0.0
    watched: bool = False
    last_watched: datetime | None = None
    mime: str | None = None

    @property
    def duration_text(self) -> str:
        return clock(self.duration)

    @property
    def progress_percent(self) -> int:
        """How much was watched, 1-100 (0: not started); a position past the end is 100."""
        if not (self.position > 0 and self.duration and self.duration > 0):
            return 0
        return max(1, round(100 * min(1.0, self.position / self.duration)))

    @property
    def progress_class(self) -> str:
        """A CSS class for the progress bar width, in 5 % steps (the CSP forbids inline styles)."""
        return f"w{5 * round(self.progress_percent / 5)}"

    @property
    def resume_text(self) -> str:
        return clock(self.position)

    def to_json(self) -> dict:
        """An item of `/api/folders/<id>/items` (docs/design.md, "The contract") plus what the pages use."""
        return {
            "name": self.name,
            "path": self.path,
            "type": self.kind,
            "size": self.size,
            "modified": self.modified.isoformat() if self.modified else None,
            "stream_url": self.stream_url,
            "thumbnail_url": self.thumbnail_url,
            "duration": self.duration,
            "subtitles": [{"label": s.label, "language": s.language, "url": s.url} for s in self.subtitles],
            "title": self.title,
            "watch_url": self.watch_url,
            "position": self.position,
            "watched": self.watched,
            "described": self.described,
        }


@dataclass(frozen=True)
class Subfolder:
    name: str
    path: str
    url: str


@dataclass(frozen=True)
class Crumb:
    name: str
    url: str


@dataclass
class FolderContents:
    share: Share
    path: str
    crumbs: list[Crumb]
    subfolders: list[Subfolder]
    items: list[Item]

    @property
    def name(self) -> str:
        return self.crumbs[-1].name


@functools.cache
def _prefix(route: str, folder_id: int) -> str:
    """`/media/3/` for route "media": reverse() once per folder, not once per file."""
    return reverse(route, args=[folder_id, "x"])[:-1]


def _url(route: str, folder_id: int, path: str) -> str:
    return _prefix(route, folder_id) + quote(path, safe="/")


def folder_url(folder_id: int, path: str = "") -> str:
    return _url("folder", folder_id, path) if path else reverse("folder-top", args=[folder_id])


def _progress_by_path(folder_ids: list[int]) -> dict[tuple[int, str], WatchProgress]:
    rows = WatchProgress.objects.filter(folder_id__in=folder_ids)
    return {(p.folder_id, p.path): p for p in rows}


def _item(row: dict, progress: WatchProgress | None) -> Item:
    """An Item from a `.values()` row (plain dicts: a 5,000-file folder is not 5,000 model instances)."""
    folder_id, path, thumbnail = row["folder_id"], row["path"], row["thumbnail"]
    duration = stored_seconds(row["duration"])
    quoted = quote(path, safe="/")
    subtitles = [
        SubtitleTrack(label, language, _url("subtitle", folder_id, sub_path))
        for sub_path, language, label in row["subtitles"]
    ]
    return Item(
        folder_id=folder_id,
        path=path,
        name=row["name"],
        kind=row["kind"],
        title=readable_title(row["name"]),
        size=row["size"],
        modified=modified_time(row["mtime_ns"] / 1e9) if row["mtime_ns"] < MAX_MTIME_NS else None,
        added=row["added"],
        duration=duration,
        stream_url=_prefix("media", folder_id) + quoted,
        watch_url=_prefix("watch", folder_id) + quoted,
        thumbnail_url=f"{_prefix('thumbnail', folder_id)}{quoted}?v={thumbnail[:12]}" if thumbnail else None,
        described=row["info"] != MediaFile.Info.PENDING,
        subtitles=subtitles,
        position=resume_position(progress, duration),
        watched=bool(progress and progress.watched),
        last_watched=progress.updated if progress else None,
    )


def _items(rows, folder_ids: list[int]) -> list[Item]:
    progress = _progress_by_path(folder_ids)
    return [_item(row, progress.get((row["folder_id"], row["path"]))) for row in rows]


def _listed(**filters):
    return MediaFile.objects.filter(**filters).values(*_LISTED_FIELDS)


def sort_items(items: list[Item], sort: str) -> list[Item]:
    items = sorted(items, key=lambda i: natural_key(i.name))
    if sort == "added":
        items.sort(key=lambda i: i.added, reverse=True)
    elif sort == "watched":
        # Stable sorts: watched ones newest first, the never-watched after them by name.
        items.sort(key=lambda i: i.last_watched or datetime.min.replace(tzinfo=UTC), reverse=True)
    return items


def folder_contents(share: Share, path: str, subfolders: list[str], sort: str = "name") -> FolderContents:
    """One folder of a share: its sub-folders (as `index.refresh_directory` found them) and its files."""
    rows = _listed(folder_id=share.id, directory=path)
    items = sort_items(_items(rows, [share.id]), sort)
    prefix = f"{path}/" if path else ""
    names = sorted(subfolders, key=natural_key)
    listed = [Subfolder(name, prefix + name, folder_url(share.id, prefix + name)) for name in names]
    crumbs = [Crumb(share.name, folder_url(share.id))]
    parts = path.split("/") if path else []
    for depth, part in enumerate(parts, start=1):
        crumbs.append(Crumb(part, folder_url(share.id, "/".join(parts[:depth]))))
    return FolderContents(share, path, crumbs, listed, items)


def find(share: Share, path: str) -> Item | None:
    """One file with everything the player needs (probe included), or None if it is not indexed."""
    row = MediaFile.objects.filter(folder_id=share.id, path=path).values(*_LISTED_FIELDS, "probe").first()
    if row is None:
        return None
    (item,) = _items([row], [share.id])
    if row["probe"]:
        item.mime = file_type(MediaInfo.from_json(row["probe"]), row["name"])
    return item


def duration(share: Share, path: str) -> float | None:
    """A file's length in seconds as the index knows it (None: not probed, or not indexed)."""
    row = MediaFile.objects.filter(folder_id=share.id, path=path).values_list("duration", flat=True)
    return stored_seconds(row.first())


def neighbours(share: Share, item: Item) -> tuple[Item | None, Item | None]:
    """The files before and after this one in its folder, in name order."""
    directory = item.path.rpartition("/")[0]
    ordered = sorted(_listed(folder_id=share.id, directory=directory), key=lambda r: natural_key(r["name"]))
    paths = [r["path"] for r in ordered]
    here = paths.index(item.path) if item.path in paths else -1
    if here < 0:
        return None, None
    before = _item(ordered[here - 1], None) if here > 0 else None
    after = _item(ordered[here + 1], None) if here + 1 < len(ordered) else None
    return before, after


def _words(text: str) -> str:
    return re.sub(r"[\s._\-]+", " ", text).casefold()


def search(shares: list[Share], query: str, limit: int = SEARCH_LIMIT) -> list[Item]:
    """Files whose path (folder names included) holds every word of the query, best matches first."""
    words = _words(query).split()
    folder_ids = [s.id for s in shares]
    if not words or not folder_ids:
        return []
    candidates = MediaFile.objects.filter(folder_id__in=folder_ids).values_list("id", "path", "name")
    matched = []
    for media_id, path, name in candidates:
        haystack = _words(path)
        if all(word in haystack for word in words):
            in_name = all(word in _words(name) for word in words)
            matched.append((not in_name, natural_key(name), media_id))
    matched.sort()
    ids = [media_id for *_, media_id in matched[:limit]]
    rows = {r["id"]: r for r in _listed(id__in=ids)}
    return _items([rows[i] for i in ids if i in rows], folder_ids)


def continue_watching(shares: list[Share], limit: int = CONTINUE_LIMIT) -> list[Item]:
    """Files left part-way, most recently watched first, on any device."""
    folder_ids = [s.id for s in shares]
    started = WatchProgress.objects.filter(folder_id__in=folder_ids, position__gt=0).order_by("-updated")
    found = []
    for progress in started[: limit * 3]:  # a few may be gone from disk
        row = _listed(folder_id=progress.folder_id, path=progress.path).first()
        if row is not None:
            item = _item(row, progress)
            if item.position > 0:
                found.append(item)
        if len(found) == limit:
            break
    return found


def recently_added(shares: list[Share], limit: int) -> list[Item]:
    """The newest files across the shared folders."""
    folder_ids = [s.id for s in shares]
    rows = _listed(folder_id__in=folder_ids).order_by("-added", "name")
    return _items(rows[:limit], folder_ids)
