"""The ffmpeg processes behind HLS segments: capped, replaced on a far seek, all ended by stop_all."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from server.transcode.manager import Manager
from server.transcode.segments import Rendition, fixed_boundaries
from tests.helpers import make_video
from tests.transcode_media import repeat_video

SECONDS = 120


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> list[str]:
    """Three two-minute AVIs (MPEG-4 + MP3): each needs a transcode."""
    root = tmp_path_factory.mktemp("films")
    piece = make_video(root / "piece.avi", 20, video=["-c:v", "mpeg4"], audio=["-c:a", "libmp3lame"])
    return [str(repeat_video(piece, SECONDS // 20, root / f"film{n}.avi")) for n in range(3)]


@pytest.fixture
def manager(tmp_path):
    # No ending for running ahead: only the cap and seeks end processes here.
    made = Manager(tmp_path / "hls", max_processes=2, ahead_limit=10_000)
    yield made
    made.stop_all()


def segment(manager: Manager, film: str, number: int):
    rendition = Rendition(film, "transcode", 0, 1, tuple(fixed_boundaries(SECONDS)), SECONDS)
    return manager.segment(Path(film).stem, rendition, number)


def test_a_segment_is_a_finished_mpegts_file(manager, films):
    path = segment(manager, films[0], 0)
    assert path.read_bytes()[0] == 0x47  # the MPEG-TS sync byte


def test_a_third_film_ends_the_least_recently_watched_process(manager, films):
    segment(manager, films[0], 0)
    (oldest,) = manager.running_processes()
    segment(manager, films[1], 0)
    segment(manager, films[2], 0)
    assert len(manager.running_processes()) == 2
    assert oldest not in manager.running_processes() and not psutil.pid_exists(oldest)


def test_a_far_seek_replaces_the_running_process(manager, films):
    segment(manager, films[0], 0)
    (first,) = manager.running_processes() or [None]
    segment(manager, films[0], 20)
    assert first is not None and not psutil.pid_exists(first)


def test_stop_all_ends_every_process_and_removes_the_segments(manager, films):
    segment(manager, films[0], 0)
    segment(manager, films[1], 0)
    running = manager.running_processes()
    manager.stop_all()
    assert running and not any(psutil.pid_exists(pid) for pid in running)
    assert not manager.root.exists()
