"""Keyframes read from a real file (and kept), and text subtitles found among a file's streams."""

from __future__ import annotations

import json

import pytest

from server.library.probe import MediaInfo, Stream
from server.transcode.matroska import cue_keyframes
from server.transcode.media import _scan_keyframes, keyframes, text_subtitles
from tests.helpers import make_video
from tests.transcode_media import repeat_video

GOP = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50", "-sc_threshold", "0"]


@pytest.fixture(scope="module", params=["mkv", "mp4"])
def any_film(request, tmp_path_factory):
    """The same film as Matroska (keyframes from its index) and MP4 (keyframes from a scan)."""
    return make_video(tmp_path_factory.mktemp("films") / f"film.{request.param}", 6, video=GOP)


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("films") / "film.mkv", 6, video=GOP)


def test_keyframes_are_the_files_own(any_film, tmp_path):
    assert keyframes(str(any_film), 0, tmp_path) == [0.0, 2.0, 4.0]


def test_matroska_index_agrees_with_a_packet_scan(tmp_path_factory):
    # Joined MP4s with B-frames: the file starts at 0.023 s, not 0 (ffmpeg counts from there, the
    # cues from 0), and keyframes every 1.92 s and at the join: nothing round about them.
    root = tmp_path_factory.mktemp("films")
    video = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "48"]
    film = repeat_video(make_video(root / "part.mp4", 6, video=video), 2, root / "joined.mkv")
    assert cue_keyframes(str(film)) == _scan_keyframes(str(film), 0)


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
