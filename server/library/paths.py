"""The only place where a path from a request becomes a path on disk.

Threat: a request names a file outside the shared folders (`..`, absolute paths, backslashes,
percent-encoded tricks that decode to those, a symlink that leads out), or a file inside that was
never meant to be served (hidden files, system folders, non-media files). Every such request gets
`NotShared`, which the views answer with 404: the same answer as for a file that does not exist,
so nothing is learnt from probing.
"""

from __future__ import annotations

import os
import sys

from server.library.media_types import is_subtitle, media_kind

# Folders that file systems, NAS boxes and OSes keep for themselves.
SYSTEM_NAMES = frozenset(
    {
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "@eadir",
        "#recycle",
        "#snapshot",
        "recycler",
        "found.000",
        "desktop.ini",
        "thumbs.db",
    }
)


class NotShared(Exception):
    """The request does not name something Couchcast serves."""


def _addressable(name: str) -> bool:
    """No control characters (a newline cannot be in a URL path Django routes, nor in a header) and no
    bytes that are not UTF-8 (Linux hands those over as lone surrogates, which no URL can carry)."""
    return not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in name)


def is_listable_name(name: str) -> bool:
    """A name that may appear in a listing: not hidden, not a system folder, not an Office lock,
    and one a URL can name."""
    return (
        bool(name)
        and not name.startswith((".", "~$"))
        and name.lower() not in SYSTEM_NAMES
        and _addressable(name)
    )


def split_relative(relpath: str) -> list[str]:
    """Check a POSIX path relative to a shared folder and return its parts ('' is the top)."""
    if relpath == "":
        return []
    if "\\" in relpath or "\x00" in relpath or relpath.startswith("/"):
        raise NotShared(relpath)
    parts = relpath.split("/")
    for part in parts:
        if part in (".", "..") or not is_listable_name(part):
            raise NotShared(relpath)
        # On Windows a colon names a drive or an alternate data stream.
        if sys.platform == "win32" and ":" in part:
            raise NotShared(relpath)
    return parts


def stays_inside(real_root: str, path: str) -> bool:
    """Whether `path`, symlinks followed, is the root or a listable place inside it."""
    target = os.path.realpath(path)
    if target == real_root:
        return True
    if not target.startswith(real_root.rstrip(os.sep) + os.sep):
        return False  # a symlink that leads out of the shared folder
    # ...or into a hidden or system folder inside it
    return all(is_listable_name(part) for part in os.path.relpath(target, real_root).split(os.sep))


def _resolve_inside(root: str, relpath: str) -> tuple[str, str]:
    """(real root, real target) for a request path; the target must stay inside the root."""
    parts = split_relative(relpath)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *parts))
    if not stays_inside(real_root, target):
        raise NotShared(relpath)
    return real_root, target


def resolve_dir(root: str, relpath: str) -> tuple[str, str]:
    """(real root, real dir) of a folder inside the shared folder."""
    real_root, target = _resolve_inside(root, relpath)
    if not os.path.isdir(target):
        raise NotShared(relpath)
    return real_root, target


def resolve_media(root: str, relpath: str) -> str:
    """A video or audio file inside the shared folder (its real path, symlinks followed)."""
    _, target = _resolve_inside(root, relpath)
    if media_kind(relpath) is None or media_kind(target) is None or not os.path.isfile(target):
        raise NotShared(relpath)
    return target


def resolve_subtitle(root: str, relpath: str) -> str:
    """A .srt/.vtt file that belongs to a media file beside it (`movie.srt`, `movie.en.srt`)."""
    _, target = _resolve_inside(root, relpath)
    if not (is_subtitle(relpath) and is_subtitle(target) and os.path.isfile(target)):
        raise NotShared(relpath)
    directory, name = os.path.split(target)
    stem = os.path.splitext(name)[0]
    try:
        siblings = os.listdir(directory)
    except OSError as exc:
        raise NotShared(relpath) from exc
    for sibling in siblings:
        if media_kind(sibling) and is_listable_name(sibling):
            media_stem = os.path.splitext(sibling)[0]
            if stem == media_stem or stem.startswith(media_stem + "."):
                return target
    raise NotShared(relpath)
