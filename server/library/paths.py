"""The only place where a path from a request becomes a path on disk, and the one rule for names.

Threat: a request names a file outside the shared folders (`..`, absolute paths, Windows-style
`..\\..\\` paths, percent-encoded tricks that decode to those, a symlink that leads out), or a file
inside that was never meant to be served (hidden files, system folders, non-media files). Every such
request gets `NotShared`, which the views answer with 404: the same answer as for a file that does not
exist, so nothing is learnt from probing.

One rule, `is_listable_name`, decides both what a listing shows (the index walks the disk with it) and
which parts a request path may have, so a name is listed if and only if it can be opened.

Backslashes: on Windows `\\` separates folders, so a request part holding one would climb or descend
folders there; it is refused wherever the system counts it as a separator (`os.sep`, `os.altsep`). On
Linux and macOS a backslash is an ordinary character of a file name (`back\\slash.mp4`, as a Windows
user's backup or a camera may name files), the system never reads it as a separator, so such a file is
listed and served like any other, its URL carrying `%5C`. A request part `..\\..\\secret.mp4` is then
one name inside the shared folder, and it starts with a dot, so it is refused as hidden anyway.
"""

from __future__ import annotations

import os
import re
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


_UNADDRESSABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# What this system reads as a folder separator inside a path: "/" on POSIX, also "\\" on Windows.
_SEPARATORS = frozenset(sep for sep in (os.sep, os.altsep) if sep)


class NotShared(Exception):
    """The request does not name something Couchcast serves."""


def _addressable(name: str) -> bool:
    """No control characters (a newline cannot be in a URL path Django routes, nor in a header) and no
    bytes that are not UTF-8 (Linux hands those over as lone surrogates, which no URL can carry)."""
    return _UNADDRESSABLE.search(name) is None


def is_listable_name(name: str) -> bool:
    """A name that is listed and served (one rule for both): not hidden (so neither `.` nor `..`),
    not a system folder, not an Office lock, one a URL can name, and one name, not a path, here."""
    return (
        bool(name)
        and not name.startswith((".", "~$"))
        and name.lower() not in SYSTEM_NAMES
        and _addressable(name)
        and _SEPARATORS.isdisjoint(name)
        # On Windows a colon names a drive or an alternate data stream.
        and not (sys.platform == "win32" and ":" in name)
    )


def split_relative(relpath: str) -> list[str]:
    """Check a POSIX path relative to a shared folder and return its parts ('' is the top).

    An absolute path or an empty part (`a//b`) has an empty name in it, which is not listable."""
    if relpath == "":
        return []
    parts = relpath.split("/")
    if not all(is_listable_name(part) for part in parts):
        raise NotShared(relpath)
    return parts


def stays_inside(real_root: str, path: str) -> bool:
    """Whether `path`, symlinks followed, is the root or a listable place inside it."""
    return _real_path_inside(real_root, os.path.realpath(path))


def _real_path_inside(real_root: str, target: str) -> bool:
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
    if not _real_path_inside(real_root, target):
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
