"""Keyframes read from a real file (and kept), and text subtitles found among a file's streams."""

from __future__ import annotations

import json

import pytest

from server.library.probe import MediaInfo, Stream
from server.transcode.media import keyframes, text_subtitles
from tests.helpers import make_video


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    gop = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50", "-sc_threshold", "0"]
    return make_video(tmp_path_factory.mktemp("films") / "film.mkv", 6, video=gop)


def test_keyframes_are_the_files_own(film, tmp_path):
    assert keyframes(str(film), 0, tmp_path) == [0.0, 2.0, 4.0]


def test_keyframes_are_kept_for_the_next_run(film, tmp_path):
    times = keyframes(str(film), 0, tmp_path)
    (kept,) = tmp_path.glob("*.json")
    assert json.loads(kept.read_text()) == times


def test_only_text_subtitles_become_webvtt():
    info = MediaInfo(
        "matroska,webm",
        10.0,
        (
            Stream(0, "video", "h264"),
            Stream(1, "subtitle", "hdmv_pgs_subtitle"),
            Stream(2, "subtitle", "ass"),
        ),
    )
    assert text_subtitles(info) == [1]
