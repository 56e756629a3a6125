"""The executable's compressed ffmpeg is unpacked once into the cache, checked, and old ones removed."""

from __future__ import annotations

import hashlib
import lzma
import os
import sys

import pytest

from server.ffmpeg import ffmpeg_available, ffmpeg_binary, unpack_once

PAYLOAD = b"\x7fELF pretend ffmpeg " * 5000


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "ffmpeg.xz"
    path.write_bytes(lzma.compress(PAYLOAD))
    return path


def test_unpacked_binary_has_the_original_bytes_and_is_executable(archive, tmp_path):
    binary = unpack_once(archive, hashlib.sha256(PAYLOAD).hexdigest(), tmp_path / "cache")
    assert binary.read_bytes() == PAYLOAD
    assert os.access(binary, os.X_OK)


def test_second_call_reuses_the_unpacked_binary_without_reading_the_archive(archive, tmp_path):
    sha256 = hashlib.sha256(PAYLOAD).hexdigest()
    first = unpack_once(archive, sha256, tmp_path / "cache")
    archive.unlink()
    assert unpack_once(archive, sha256, tmp_path / "cache") == first


def test_archive_with_other_bytes_than_its_hash_is_refused_and_leaves_no_binary(archive, tmp_path):
    with pytest.raises(ValueError):
        unpack_once(archive, hashlib.sha256(b"another build").hexdigest(), tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_unpacking_a_new_build_removes_the_previous_builds_ffmpeg(archive, tmp_path):
    cache = tmp_path / "cache"
    (cache / "0123456789abcdef").mkdir(parents=True)
    (cache / "0123456789abcdef" / "ffmpeg").write_bytes(b"old build")
    unpack_once(archive, hashlib.sha256(PAYLOAD).hexdigest(), cache)
    assert [p.name for p in cache.iterdir()] == [hashlib.sha256(PAYLOAD).hexdigest()[:16]]


def test_executable_says_ffmpeg_is_there_without_unpacking_it(archive, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle" / "couchcast_ffmpeg"
    bundle.mkdir(parents=True)
    archive.rename(bundle / "ffmpeg.xz")
    (bundle / "ffmpeg.sha256").write_text(hashlib.sha256(PAYLOAD).hexdigest())
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)  # as the bootloader sets it
    monkeypatch.setenv("COUCHCAST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COUCHCAST_FFMPEG", raising=False)
    ffmpeg_binary.cache_clear()  # a cached answer would hide an unpack
    try:
        assert ffmpeg_available()
        assert not (tmp_path / "home" / "cache" / "ffmpeg").exists()
    finally:
        ffmpeg_binary.cache_clear()
