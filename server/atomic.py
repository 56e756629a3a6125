"""Replace a file whole or not at all: a reader (or a crash) never sees half of it.

Every file Couchcast writes for later reading (the config, cached thumbnails, subtitles, timelines,
the unpacked ffmpeg, the single-instance record, the login entry) goes through here, so there is one
temporary-name scheme and one place that cleans up after a failed write.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(target: Path, *, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside `target` to write; on leaving the block it becomes `target`.

    The temporary name is unique (two threads or processes making the same file never share one)
    and starts with a dot, so listings skip it. If the block raises, `target` is untouched and the
    temporary file is removed. `durable` also flushes it to the disk before the rename (the config:
    a power cut right after saving must not leave an empty file).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        if durable:
            with open(partial, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def write_atomically(target: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace `target` with `data` (str is written as UTF-8)."""
    with replacing(target, durable=durable) as partial:
        partial.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
