"""What a shared folder holds: sub-folders and media files, never anything else."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from server.library.media_types import is_subtitle, media_kind
from server.library.paths import is_listable_name, stays_inside

_LANGUAGE_NAMES = {
    "en": "English",
    "eng": "English",
    "fr": "Français",
    "fre": "Français",
    "fra": "Français",
    "de": "Deutsch",
    "ger": "Deutsch",
    "deu": "Deutsch",
    "es": "Español",
    "spa": "Español",
    "it": "Italiano",
    "ita": "Italiano",
    "pt": "Português",
    "por": "Português",
    "nl": "Nederlands",
    "nld": "Nederlands",
    "ja": "日本語",
    "jpn": "日本語",
}


@dataclass(frozen=True)
class Subtitle:
    path: str  # relative to the shared folder
    language: str | None
    label: str


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # POSIX, relative to the shared folder
    type: str  # "dir", "video" or "audio"
    size: int | None = None
    modified: datetime | None = None
    subtitles: tuple[Subtitle, ...] = field(default=())


def _modified(mtime: float) -> datetime | None:
    """When a file last changed; None (shown as unknown) for a damaged volume's year 36812."""
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def natural_key(name: str) -> list:
    """Sort "Episode 2" before "Episode 10", ignoring case."""
    return [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", name)]


def subtitles_for(media_name: str, names: list[str], directory: str) -> tuple[Subtitle, ...]:
    """`movie.srt`, `movie.en.srt`, `movie.English.vtt` beside `movie.mp4`."""
    stem = os.path.splitext(media_name)[0]
    found = []
    for name in names:
        if not is_subtitle(name) or not is_listable_name(name):
            continue
        sub_stem = os.path.splitext(name)[0]
        if sub_stem == stem:
            language = None
        elif sub_stem.startswith(stem + "."):
            language = sub_stem[len(stem) + 1 :]
        else:
            continue
        label = _LANGUAGE_NAMES.get((language or "").lower(), language) or "Subtitles"
        found.append(Subtitle(f"{directory}{name}", language, label))
    return tuple(sorted(found, key=lambda s: natural_key(s.label)))


def list_directory(real_root: str, real_dir: str, relpath: str) -> list[Entry]:
    """Sub-folders first, then media files, each in natural order.

    Unreadable entries, and symlinks that lead out of the shared folder, are left out.
    """
    prefix = f"{relpath}/" if relpath else ""
    try:
        with os.scandir(real_dir) as scan:
            dir_entries = [e for e in scan if is_listable_name(e.name)]
    except OSError:
        return []
    names = [e.name for e in dir_entries]
    folders, files = [], []
    for entry in dir_entries:
        try:
            if entry.is_symlink() and not stays_inside(real_root, entry.path):
                continue
            if entry.is_dir():
                folders.append(Entry(entry.name, prefix + entry.name, "dir"))
                continue
            kind = media_kind(entry.name)
            if kind is None or not entry.is_file():
                continue
            stat = entry.stat()
        except OSError:
            continue  # vanished or unreadable between listing and stat
        files.append(
            Entry(
                entry.name,
                prefix + entry.name,
                kind,
                stat.st_size,
                _modified(stat.st_mtime),
                subtitles_for(entry.name, names, prefix) if kind == "video" else (),
            )
        )
    folders.sort(key=lambda e: natural_key(e.name))
    files.sort(key=lambda e: natural_key(e.name))
    return folders + files
