"""The thumbnail cache: keyed by path, size and mtime; ffmpeg missing or failing never loops."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from server.ffmpeg import ffmpeg_binary
from server.library.thumbnails import WIDTH, ThumbnailCache, ThumbnailError
from tests.helpers import counting_ffmpeg as make_counting_ffmpeg
from tests.helpers import make_video


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("thumbs") / "clip.mp4", 3, size="640x360")


@pytest.fixture
def counting_ffmpeg(tmp_path) -> tuple[str, Path]:
    script, log = make_counting_ffmpeg(tmp_path)
    return str(script), log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def key_of(cache: ThumbnailCache, path: Path) -> str:
    stat = path.stat()
    return cache.key(str(path), stat.st_size, stat.st_mtime_ns)


def test_thumbnail_is_a_jpeg_at_most_480_wide(tmp_path, video):
    cache = ThumbnailCache(tmp_path / "cache")
    made = cache.make(str(video), key_of(cache, video), 3.0)
    with Image.open(io.BytesIO(made.read_bytes())) as image:
        assert image.format == "JPEG"
        assert image.size == (WIDTH, 270)


def test_a_cached_thumbnail_is_not_made_again(tmp_path, video, counting_ffmpeg):
    binary, log = counting_ffmpeg
    cache = ThumbnailCache(tmp_path / "cache")
    key = key_of(cache, video)
    first = cache.make(str(video), key, 3.0, ffmpeg=binary)
    made_runs = runs(log)
    assert cache.make(str(video), key, 3.0, ffmpeg=binary) == first
    assert runs(log) == made_runs


def test_a_touched_file_gets_a_new_thumbnail(tmp_path, video):
    cache = ThumbnailCache(tmp_path / "cache")
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(video.read_bytes())
    old = cache.make(str(copy), key_of(cache, copy), 3.0)
    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 5_000_000_000))
    new_key = key_of(cache, copy)
    assert not cache.image_path(new_key).exists()
    assert cache.make(str(copy), new_key, 3.0) != old


def test_a_file_of_another_size_gets_another_key(tmp_path, video):
    cache = ThumbnailCache(tmp_path / "cache")
    stat = video.stat()
    assert cache.key(str(video), stat.st_size, stat.st_mtime_ns) != cache.key(
        str(video), stat.st_size + 1, stat.st_mtime_ns
    )


def test_without_ffmpeg_no_thumbnail_is_made(tmp_path, video, monkeypatch):
    monkeypatch.setenv("COUCHCAST_FFMPEG", "/nonexistent")
    ffmpeg_binary.cache_clear()
    try:
        cache = ThumbnailCache(tmp_path / "cache")
        with pytest.raises(ThumbnailError, match="not available"):
            cache.make(str(video), key_of(cache, video), 3.0)
    finally:
        monkeypatch.undo()
        ffmpeg_binary.cache_clear()
    assert not any((tmp_path / "cache").rglob("*.jpg"))


def test_a_file_ffmpeg_cannot_read_fails_once_and_is_not_retried(tmp_path, counting_ffmpeg):
    binary, log = counting_ffmpeg
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 500)
    cache = ThumbnailCache(tmp_path / "cache")
    key = key_of(cache, broken)
    with pytest.raises(ThumbnailError, match="could not read"):
        cache.make(str(broken), key, None, ffmpeg=binary)
    tried = runs(log)
    assert tried >= 1
    with pytest.raises(ThumbnailError, match="not trying again"):
        cache.make(str(broken), key, None, ffmpeg=binary)
    assert runs(log) == tried
