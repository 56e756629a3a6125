"""Find ffmpeg: the one bundled in the executable, imageio-ffmpeg's, else `ffmpeg` on PATH, else None.

`COUCHCAST_FFMPEG=PATH` overrides the search (a path that does not exist means "no ffmpeg",
which is how the tests check that the library works without it).

Inside the one-file executable (build.spec) ffmpeg is stored xz-compressed, because a one-file build
extracts every bundled file at every start and 173 MB of ffmpeg cost ~0.7 s there (docs/design.md).
It is unpacked once into the user cache dir, under a folder named for its SHA-256, so a new build
brings its own ffmpeg and an interrupted unpack never leaves a half-written binary in use.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import lzma
import os
import shutil
import sys
import threading
from pathlib import Path

from server.atomic import replacing
from server.dirs import user_dirs

log = logging.getLogger(__name__)

# Where build.spec puts the compressed ffmpeg and the SHA-256 of the uncompressed binary.
BUNDLE_DIR = "couchcast_ffmpeg"
BUNDLED_ARCHIVE = "ffmpeg.xz"
BUNDLED_HASH = "ffmpeg.sha256"
_CHUNK = 1024 * 1024
# The scanner and a page view may both ask first; the second waits for the first's unpack (~3 s once)
# instead of unpacking the same 173 MB beside it.
_unpacking = threading.Lock()


@functools.cache
def ffmpeg_binary() -> str | None:
    override = os.environ.get("COUCHCAST_FFMPEG")
    if override is not None:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    bundle = bundled_archive()
    if bundle is not None:
        try:
            return str(unpack_once(*bundle, user_dirs().cache / "ffmpeg"))
        except (OSError, lzma.LZMAError, ValueError):
            log.exception("Could not unpack the bundled ffmpeg; looking for another one")
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def ffmpeg_available() -> bool:
    """Whether there is an ffmpeg, answered without unpacking the executable's one (seconds, the first time).

    For pages that only show or hide what needs ffmpeg: the first library page of a fresh install must
    not wait for the unpack the scanner has just started.
    """
    if os.environ.get("COUCHCAST_FFMPEG") is None and bundled_archive() is not None:
        return True
    return ffmpeg_binary() is not None


def bundled_archive() -> tuple[Path, str] | None:
    """The compressed ffmpeg inside a frozen build and its SHA-256, or None outside one."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root is None:
        return None
    archive = Path(bundle_root, BUNDLE_DIR, BUNDLED_ARCHIVE)
    digest_file = Path(bundle_root, BUNDLE_DIR, BUNDLED_HASH)
    if not (archive.is_file() and digest_file.is_file()):
        return None
    return archive, digest_file.read_text(encoding="ascii").strip()


def unpack_once(archive: Path, sha256: str, cache_root: Path) -> Path:
    """The unpacked ffmpeg under `cache_root/<hash>/`, unpacking `archive` only if it is not there yet.

    The binary is written to a temporary name, checked against `sha256`, then renamed into place:
    two processes unpacking at once both end with a complete file, and a process killed mid-way
    leaves a `.unpacking-` file behind, never an incomplete `ffmpeg`.
    Raises ValueError when the archive does not unpack to the expected bytes.
    """
    target_dir = cache_root / sha256[:16]
    target = target_dir / ("ffmpeg.exe" if os.name == "nt" else "ffmpeg")
    if target.is_file():
        return target
    with _unpacking:
        if target.is_file():
            return target
        _unpack(archive, sha256, target)
    _remove_other_versions(cache_root, keep=target_dir)
    log.info("Unpacked the bundled ffmpeg to %s", target)
    return target


def _unpack(archive: Path, sha256: str, target: Path) -> None:
    digest = hashlib.sha256()
    with replacing(target) as temporary:
        with open(temporary, "wb") as out, lzma.open(archive, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"{archive} does not unpack to the ffmpeg it was built with")
        os.chmod(temporary, 0o755)


def _remove_other_versions(cache_root: Path, keep: Path) -> None:
    """Earlier builds' ffmpeg (170 MB each) would pile up in the cache; a running one may refuse."""
    for entry in cache_root.iterdir():
        if entry != keep and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
