"""Find the ffmpeg binary: imageio-ffmpeg's bundled one, else `ffmpeg` on PATH, else None.

`COUCHCAST_FFMPEG=PATH` overrides the search (a path that does not exist means "no ffmpeg",
which is how the tests check that the library works without it).
"""

from __future__ import annotations

import functools
import os
import shutil


@functools.cache
def ffmpeg_binary() -> str | None:
    override = os.environ.get("COUCHCAST_FFMPEG")
    if override is not None:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")
