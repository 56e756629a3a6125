"""A file's timeline (start, real end, keyframes) read from real files, kept, read once; text subtitles."""

from __future__ import annotations

import json
import struct
import threading

import pytest

from server.library.probe import MediaInfo, Stream
from server.transcode.media import (
    MediaError,
    StillReading,
    TimelineJobs,
    _scan_video,
    read_timeline,
    text_subtitles,
)
from tests.films import make_film
from tests.helpers import make_video
from tests.transcode_media import repeat_video

GOP = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50", "-sc_threshold", "0"]


@pytest.fixture(scope="module", params=["mkv", "mp4"])
def any_film(request, tmp_path_factory):
    """The same film as Matroska (keyframes from its Cues) and MP4 (from its sample table)."""
    return make_video(tmp_path_factory.mktemp("films") / f"film.{request.param}", 6, video=GOP)


@pytest.fixture(scope="module")
def real_film(tmp_path_factory):
    """A minute of film with B-frames and keyframes 2-10 s apart."""
    return make_film(tmp_path_factory.mktemp("films") / "real.mkv", 60)


def test_keyframes_are_the_files_own(any_film):
    timeline = read_timeline(str(any_film), 0)
    assert timeline.keyframes == (0.0, 2.0, 4.0)
    assert timeline.end == pytest.approx(6.0, abs=0.05)


def test_the_matroska_index_agrees_with_a_packet_scan(tmp_path_factory):
    """Joined MP4s with B-frames: the file starts at 0.023 s, keyframes every 1.92 s and at the join."""
    import av

    root = tmp_path_factory.mktemp("films")
    video = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "48"]
    film = repeat_video(make_video(root / "part.mp4", 6, video=video), 2, root / "joined.mkv")
    with av.open(str(film)) as container:
        scanned, _ = _scan_video(container, container.streams.video[0])
    assert list(read_timeline(str(film), 0).keyframes) == scanned


def test_keyframes_of_a_film_with_b_frames_and_irregular_gops_are_found(real_film):
    keyframes = read_timeline(str(real_film), 0).keyframes
    gaps = [b - a for a, b in zip(keyframes, keyframes[1:], strict=False)]
    assert len(keyframes) >= 7 and min(gaps) >= 1.9 and max(gaps) <= 10.1


def test_a_header_that_claims_500_hours_gives_the_real_length(real_film, tmp_path):
    """The playlist follows what the streams hold: a container's Duration is only a claim."""
    data = bytearray(real_film.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Duration, an 8-byte float in milliseconds
    assert at > 0
    data[at + 3 : at + 11] = struct.pack(">d", 500 * 3600 * 1000.0)
    liar = tmp_path / "liar.mkv"
    liar.write_bytes(bytes(data))
    assert read_timeline(str(liar), 0).end == pytest.approx(60.0, abs=0.5)


def test_a_file_cut_short_ends_where_its_packets_end(tmp_path):
    """An MP4 download stopped halfway: its index names two minutes, its data holds one."""
    whole = make_video(tmp_path / "whole.mp4", 120, video=GOP, extra=["-movflags", "+faststart"])
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    timeline = read_timeline(str(cut), 0)
    assert 40 < timeline.end < 80
    assert max(timeline.keyframes) < timeline.end


def test_a_file_that_is_not_a_film_is_a_media_error(tmp_path):
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"\x1a\x45\xdf\xa3 this is not a film" * 100)
    with pytest.raises(MediaError):
        read_timeline(str(broken), 0)


def test_timelines_are_kept_for_the_next_run(real_film, tmp_path):
    timeline = TimelineJobs(tmp_path).timeline(str(real_film), 0)
    (kept,) = tmp_path.glob("*.json")
    assert json.loads(kept.read_text())["keyframes"] == list(timeline.keyframes)
    again = TimelineJobs(tmp_path)
    assert again.timeline(str(real_film), 0) == timeline and again.reads == 0


def test_many_requests_at_once_read_a_file_once(real_film, tmp_path):
    """Eight playlist requests at once used to run eight whole-file scans on request threads."""
    jobs = TimelineJobs(tmp_path)
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(jobs.timeline(str(real_film), 0))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8 and len(set(answers)) == 1 and jobs.reads == 1


def test_a_request_that_cannot_wait_hears_the_file_is_being_read(real_film, tmp_path):
    jobs = TimelineJobs(tmp_path)
    with pytest.raises(StillReading):
        jobs.timeline(str(real_film), 0, wait=0)
    assert jobs.timeline(str(real_film), 0).keyframes  # the job went on and finished


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
