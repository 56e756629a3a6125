"""The conversion scheduler with real ffmpeg processes and real films: segments that are the same
whichever process made them, capacity, viewers that never stop each other, and clean stops."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import av
import psutil
import pytest

from server.ffmpeg import ffmpeg_binary
from server.transcode.media import read_timeline
from server.transcode.scheduler import NoRoom, Scheduler
from server.transcode.segments import SEGMENT_SECONDS, Rendition, fixed_boundaries, keyframe_boundaries
from tests.films import FRAME_RATE, frame_number, frame_time, make_film

FRAME = float(1 / FRAME_RATE)
SYSTEM_FFMPEG = shutil.which("ffmpeg", path="/usr/bin")
BUILDS = {"bundled": ffmpeg_binary(), "debian": SYSTEM_FFMPEG}


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> dict[str, Path]:
    """A minute of the same film in the containers households have, encoded like real films: H.264
    with B-frames and keyframes 2-10 s apart (MKV, MP4, MPEG-TS, AVI); HEVC with open GOPs."""
    root = tmp_path_factory.mktemp("films")
    mkv = make_film(root / "film.mkv", 60)
    made = {"mkv": mkv, "hevc.mkv": make_film(root / "hevc.mkv", 40, codec="hevc", audio="aac")}
    for suffix in ("mp4", "ts", "avi"):
        # The same streams in another container, as rips and recordings come.
        target = root / f"film.{suffix}"
        annex_b = ["-bsf:v", "h264_mp4toannexb"] if suffix == "avi" else []
        command = [ffmpeg_binary(), "-v", "error", "-y", "-i", str(mkv), "-map", "0", "-c", "copy"]
        subprocess.run([*command, *annex_b, str(target)], check=True)
        made[suffix] = target
    return made


def rendition_of(film: Path, kind: str) -> Rendition:
    timeline = read_timeline(str(film), 0)
    boundaries = keyframe_boundaries(timeline) if kind == "remux" else fixed_boundaries(timeline)
    return Rendition(
        str(film),
        kind,
        0,
        1,
        timeline.origin,
        tuple(boundaries),
        timeline.end,
        timeline.keyframes,
        timeline.indexed,
    )


def video_packets(segment: Path) -> list[tuple[float, float]]:
    """(pts, dts) of each video packet, in the order stored."""
    with av.open(str(segment)) as container:
        return [
            (float(p.pts * p.time_base), float(p.dts * p.time_base))
            for p in container.demux(video=0)
            if p.pts is not None
        ]


def first_picture(segment: Path) -> int:
    with av.open(str(segment)) as container:
        return frame_number(next(container.decode(video=0)))


@pytest.fixture
def scheduler(tmp_path):
    made = Scheduler(tmp_path / "hls", capacity=8)
    yield made
    made.stop_all()


CASES = [
    (source, kind, build)
    for source in ("mkv", "mp4", "ts", "avi")
    for kind in ("remux", "transcode")
    for build in BUILDS
    if not (kind == "transcode" and source in ("mp4", "avi"))  # same decoder path as mkv, ts
] + [("hevc.mkv", "transcode", "bundled"), ("hevc.mkv", "transcode", "debian")]


@pytest.mark.parametrize(("source", "kind", "build"), CASES)
def test_a_segment_is_the_same_whichever_process_made_it(films, tmp_path, source, kind, build):
    """Segment k made in order (one process from 0) and after a seek (a process started at k): the
    same first picture and timestamps, and the seek's segment starts after the in-order k-1 ends."""
    if BUILDS[build] is None:
        pytest.skip(f"no {build} ffmpeg here")
    rendition = rendition_of(films[source], kind)
    k = len(rendition.boundaries) // 2
    in_order = Scheduler(tmp_path / "in-order", capacity=8, ffmpeg=BUILDS[build])
    seeking = Scheduler(tmp_path / "seek", capacity=8, ffmpeg=BUILDS[build])
    try:
        made = [in_order.segment("film", rendition, n, viewer="a") for n in range(k + 1)]
        after_seek = seeking.segment("film", rendition, k, viewer="b")
        previous, ordered, sought = (
            video_packets(made[k - 1]),
            video_packets(made[k]),
            video_packets(after_seek),
        )
        assert sought[0][0] == pytest.approx(ordered[0][0], abs=FRAME / 2)
        assert sought[0][1] == pytest.approx(ordered[0][1], abs=FRAME / 2)
        assert len(sought) == len(ordered)
        assert sought[0][1] > max(dts for _, dts in previous)
        assert first_picture(after_seek) == first_picture(made[k])
    finally:
        in_order.stop_all()
        seeking.stop_all()


@pytest.mark.parametrize("kind", ["remux", "transcode"])
def test_a_segment_after_a_seek_shows_the_moment_the_playlist_says(films, scheduler, kind):
    rendition = rendition_of(films["mkv"], kind)
    for number in (3, len(rendition.boundaries) - 2):
        segment = scheduler.segment("film", rendition, number, viewer="a")
        shown = frame_time(first_picture(segment))
        assert shown == pytest.approx(rendition.boundaries[number] - rendition.origin, abs=FRAME * 1.01)


def test_segments_cover_the_film_to_its_end_without_overlap(films, scheduler):
    rendition = rendition_of(films["mkv"], "remux")
    last_dts = -1.0
    for number in range(len(rendition.boundaries)):
        packets = video_packets(scheduler.segment("film", rendition, number, viewer="a"))
        assert packets[0][1] > last_dts
        last_dts = max(dts for _, dts in packets)
    assert last_dts - 10 == pytest.approx(rendition.end, abs=0.5)


def test_three_viewers_of_three_films_all_get_their_segments(films, tmp_path):
    """Three phones on three files used to leave two with nothing: processes evicted each other."""
    scheduler = Scheduler(tmp_path / "hls", capacity=2)
    renditions = [rendition_of(films[name], "transcode") for name in ("mkv", "ts", "hevc.mkv")]
    got: dict[str, list[Path]] = {}

    def watch(viewer: str, rendition: Rendition) -> None:
        got[viewer] = [scheduler.segment(viewer, rendition, n, viewer=viewer, cost=0.3) for n in range(4)]

    try:
        threads = [threading.Thread(target=watch, args=(f"v{n}", r)) for n, r in enumerate(renditions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(got) == ["v0", "v1", "v2"] and all(len(paths) == 4 for paths in got.values())
    finally:
        scheduler.stop_all()


def test_a_viewer_past_capacity_is_told_at_once_in_words(films, tmp_path):
    scheduler = Scheduler(tmp_path / "hls", capacity=1.0)
    try:
        scheduler.segment("one", rendition_of(films["mkv"], "transcode"), 0, viewer="a", cost=0.8)
        started = time.monotonic()
        with pytest.raises(NoRoom, match="1 other video is being converted"):
            scheduler.segment("two", rendition_of(films["ts"], "transcode"), 0, viewer="b", cost=0.8)
        assert time.monotonic() - started < 5
        assert not scheduler.room_for(0.8)
    finally:
        scheduler.stop_all()


def test_one_conversion_may_always_run_however_costly(films, tmp_path):
    """A 4K transcode costs about a core: on a one-core computer it must still play, alone."""
    scheduler = Scheduler(tmp_path / "hls", capacity=0.5)
    try:
        assert scheduler.room_for(1.05)
        assert scheduler.segment("uhd", rendition_of(films["mkv"], "transcode"), 0, viewer="a", cost=1.05)
        assert not scheduler.room_for(0.05)
    finally:
        scheduler.stop_all()


def test_a_viewer_who_stopped_asking_makes_room_for_a_new_one(films, tmp_path):
    scheduler = Scheduler(tmp_path / "hls", capacity=1.0, evictable_seconds=0.5)
    remux = rendition_of(films["mkv"], "remux")
    try:
        scheduler.segment("one", remux, 0, viewer="a", cost=0.8)
        (paused,) = scheduler.running_processes()
        time.sleep(0.6 + 2 * max(b - a for a, b in zip(remux.boundaries, remux.boundaries[1:], strict=False)))
        scheduler.segment("two", rendition_of(films["ts"], "transcode"), 0, viewer="b", cost=0.8)
        assert paused not in scheduler.running_processes()
    finally:
        scheduler.stop_all()


def test_a_waiting_request_keeps_its_conversion_alive(films, tmp_path):
    """The reaper ended every conversion with no *new* request for 6 s, though a request waited for
    it: a seek into a long GOP on a busy machine restarted 42 times, then failed."""
    # A reaper that ends a process 0.05 s after its viewer's last request (it adds two segments).
    scheduler = Scheduler(tmp_path / "hls", capacity=4, idle_seconds=0.05 - 2 * SEGMENT_SECONDS)
    rendition = rendition_of(films["hevc.mkv"], "transcode")
    try:
        segment = scheduler.segment("hevc", rendition, len(rendition.boundaries) - 3, viewer="a")
        assert segment.exists()
    finally:
        scheduler.stop_all()


def test_one_viewers_seek_never_stops_another_viewers_conversion(films, scheduler):
    rendition = rendition_of(films["mkv"], "transcode")
    scheduler.segment("film", rendition, 0, viewer="a")
    (first,) = scheduler.running_processes()
    scheduler.segment("film", rendition, 20, viewer="b")
    assert first in scheduler.running_processes() and len(scheduler.running_processes()) == 2


def test_a_seek_replaces_the_viewers_own_process(films, scheduler):
    rendition = rendition_of(films["mkv"], "transcode")
    scheduler.segment("film", rendition, 0, viewer="a")
    (first,) = scheduler.running_processes()
    scheduler.segment("film", rendition, 20, viewer="a")
    assert first not in scheduler.running_processes() and not psutil.pid_exists(first)


def test_a_process_waits_for_its_viewer_instead_of_converting_the_whole_film(films, tmp_path):
    scheduler = Scheduler(tmp_path / "hls", capacity=4, ahead_seconds=10.0)
    rendition = rendition_of(films["mkv"], "transcode")
    try:
        scheduler.segment("film", rendition, 0, viewer="a")
        time.sleep(3)
        made = sorted(int(p.stem) for p in (scheduler.root / "film").glob("*.ts"))
        assert made[-1] <= 10.0 / 2.0 + 1  # 10 s of film past segment 0, and no more
        assert scheduler.running_processes()  # waiting, not ended
        scheduler.segment("film", rendition, 8, viewer="a")
        time.sleep(3)
        made = sorted(int(p.stem) for p in (scheduler.root / "film").glob("*.ts"))
        assert 8 + 10.0 / 2.0 - 1 <= made[-1] <= 8 + 10.0 / 2.0 + 1  # went on as the viewer did
    finally:
        scheduler.stop_all()


def test_stop_all_ends_every_process_and_removes_the_segments(films, scheduler):
    scheduler.segment("one", rendition_of(films["mkv"], "transcode"), 0, viewer="a")
    scheduler.segment("two", rendition_of(films["ts"], "transcode"), 0, viewer="b")
    running = scheduler.running_processes()
    scheduler.stop_all()
    assert running and not any(psutil.pid_exists(pid) for pid in running)
    assert not scheduler.root.exists()
