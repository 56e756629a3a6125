"""Naming rules for what a shared folder holds: subtitles beside a video, natural order, file dates."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from server.library.media_types import is_subtitle
from server.library.paths import is_listable_name

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


def modified_time(mtime: float) -> datetime | None:
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
