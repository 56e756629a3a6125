"""Thumbnails: one frame from ffmpeg, resized and encoded by Pillow, cached on disk.

The cache key is the file's real path, size and mtime, so a changed file gets a new thumbnail and the
old one is simply never asked for again. A file ffmpeg cannot read leaves a small marker under the
same key, so it is not tried again (and again) until the file changes.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from server.atomic import write_atomically
from server.ffmpeg import ffmpeg_binary

WIDTH = 480
HEIGHT = 270
JPEG_QUALITY = 72
FFMPEG_TIMEOUT = 60
# How far into a video the frame is taken: past opening black frames and logos, before spoilers.
SHARE_OF_DURATION = 0.1
LATEST_SECOND = 300.0


class ThumbnailError(Exception):
    """No thumbnail can be made for this file (ffmpeg missing, or it could not read the file)."""


def frame_time(duration: float | None) -> float:
    """The second of the video the thumbnail shows."""
    if not duration or duration <= 0:
        return 0.0
    return round(min(duration * SHARE_OF_DURATION, LATEST_SECOND), 3)


class ThumbnailCache:
    """Thumbnails under one folder (the user cache dir), two-level fan-out like git objects."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(real_path: str, size: int, mtime_ns: int) -> str:
        mtime_ns = min(mtime_ns, 2**63 - 1)  # as the index stores it (SQLite integers are 64-bit)
        return hashlib.sha256(f"{real_path}\0{size}\0{mtime_ns}".encode()).hexdigest()[:40]

    def image_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.jpg"

    def _failure_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.failed"

    def has_failed(self, key: str) -> bool:
        return self._failure_path(key).exists()

    def make(self, real_path: str, key: str, duration: float | None, ffmpeg: str | None = None) -> Path:
        """The thumbnail for this key, made now unless it is cached. Raises ThumbnailError."""
        image_path = self.image_path(key)
        if image_path.exists():
            return image_path
        if self.has_failed(key):
            raise ThumbnailError(f"ffmpeg could not read {real_path} before; not trying again")
        binary = ffmpeg if ffmpeg is not None else ffmpeg_binary()
        if binary is None:
            raise ThumbnailError("ffmpeg is not available")
        at = frame_time(duration)
        frame = _grab_frame(binary, real_path, at) or (_grab_frame(binary, real_path, 0.0) if at else None)
        try:
            if frame is None:
                raise ThumbnailError(f"ffmpeg could not read a frame of {real_path}")
            try:
                encoded = _encode(frame)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise ThumbnailError(f"ffmpeg gave no usable frame for {real_path}: {exc}") from exc
        except ThumbnailError:
            self._write(self._failure_path(key), b"")
            raise
        self._write(image_path, encoded)
        return image_path

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        """Write atomically: a reader never sees half a JPEG."""
        write_atomically(path, data)


def _grab_frame(binary: str, path: str, at: float) -> bytes | None:
    """One frame as BMP bytes (ffmpeg only shrinks big frames roughly; Pillow does the real resize)."""
    try:
        result = subprocess.run(
            [
                binary, "-hide_banner", "-nostdin", "-v", "error", "-threads", "1",
                "-ss", f"{at:.3f}", "-i", path,
                "-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn",
                "-vf", f"scale='min({WIDTH * 2},iw)':-2",
                "-f", "image2pipe", "-c:v", "bmp", "-",
            ],
            capture_output=True,
            timeout=FFMPEG_TIMEOUT,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 and result.stdout else None


def _encode(frame: bytes) -> bytes:
    with Image.open(io.BytesIO(frame)) as image:
        picture = image.convert("RGB")
    picture.thumbnail((WIDTH, HEIGHT * 2), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()
