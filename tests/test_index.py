"""The library index: new, changed and removed files are picked up; unchanged ones are never re-probed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import make_video, start_server
from tests.inprocess import make_runtime

LISTING_FILES = 5000


@pytest.fixture
def runtime(django_home, tmp_path):
    """A runtime of its own (not started: the tests scan and describe themselves)."""
    return make_runtime(tmp_path / "home")


@pytest.fixture
def index(runtime):
    return runtime.index


@pytest.fixture
def library(runtime, tmp_path) -> tuple[Path, object]:
    """A fresh shared folder with two real videos, shared for this test, and its Share."""
    root = tmp_path / "Films"
    make_video(root / "One.mp4", 2)
    make_video(root / "Sub" / "Two.mp4", 2)
    runtime.shares.share_for_this_run([str(root)])
    share = next(s for s in runtime.shares.shared() if s.path == str(root))
    return root, share


def indexed(share) -> dict[str, object]:
    from server.library.models import MediaFile

    return {row.path: row for row in MediaFile.objects.filter(folder_id=share.id)}


def describe_pending(runtime, share) -> None:
    from server.library.describe import describe
    from server.library.models import MediaFile

    for media_id in MediaFile.objects.filter(folder_id=share.id, info="pending").values_list("id", flat=True):
        describe(media_id, runtime.shares, runtime.thumbnails)


def test_a_first_scan_indexes_every_media_file(library, index):
    _, share = library
    result = index.scan(share)
    assert (result.added, result.changed, result.removed) == (2, 0, 0)
    assert sorted(indexed(share)) == ["One.mp4", "Sub/Two.mp4"]


def test_hidden_and_non_media_files_are_not_indexed(library, index):
    root, share = library
    (root / ".hidden.mp4").write_bytes(b"x")
    (root / ".private").mkdir()
    (root / ".private" / "inside.mp4").write_bytes(b"x")
    (root / "notes.txt").write_text("not media")
    (root / "outside.mp4").symlink_to(Path(os.devnull))
    index.scan(share)
    assert sorted(indexed(share)) == ["One.mp4", "Sub/Two.mp4"]


def test_a_new_file_is_added_by_the_next_scan(library, index):
    root, share = library
    index.scan(share)
    make_video(root / "Sub" / "Three.mp4", 1)
    assert index.scan(share).added == 1
    assert "Sub/Three.mp4" in indexed(share)


def test_a_removed_file_is_dropped_by_the_next_scan(library, index):
    root, share = library
    index.scan(share)
    (root / "One.mp4").unlink()
    assert index.scan(share).removed == 1
    assert sorted(indexed(share)) == ["Sub/Two.mp4"]


def test_a_changed_file_is_described_again(library, index, runtime):
    root, share = library
    index.scan(share)
    describe_pending(runtime, share)
    assert indexed(share)["One.mp4"].duration == pytest.approx(2, abs=0.1)
    make_video(root / "One.mp4", 4)
    assert index.scan(share).changed == 1
    row = indexed(share)["One.mp4"]
    assert (row.info, row.duration, row.thumbnail) == ("pending", None, "")
    describe_pending(runtime, share)
    assert indexed(share)["One.mp4"].duration == pytest.approx(4, abs=0.1)


def test_an_unchanged_file_is_never_described_twice(library, index, runtime):
    _, share = library
    index.scan(share)
    describe_pending(runtime, share)
    before = {path: (row.info, row.probe, row.thumbnail) for path, row in indexed(share).items()}
    assert all(info == "ready" for info, _, _ in before.values())
    assert index.scan(share).unchanged == 2
    after = {path: (row.info, row.probe, row.thumbnail) for path, row in indexed(share).items()}
    assert after == before


def test_a_file_ffmpeg_cannot_read_is_marked_failed_once(library, index, runtime):
    root, share = library
    (root / "broken.mp4").write_bytes(b"not a video" * 100)
    index.scan(share)
    describe_pending(runtime, share)
    assert indexed(share)["broken.mp4"].info == "failed"
    index.scan(share)
    assert indexed(share)["broken.mp4"].info == "failed"


def test_new_subtitles_beside_a_video_are_picked_up(library, index):
    root, share = library
    index.scan(share)
    (root / "One.en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    index.scan(share)
    assert indexed(share)["One.mp4"].subtitles == [["One.en.srt", "en", "English"]]


def test_listing_5000_files_prints_its_time(tmp_path):
    """Prints the time of the API and the page for a folder of 5,000 files (a figure, not asserted).

    Without ffmpeg, so the figure is the steady state: 5,000 empty files would otherwise keep the
    describe worker probing while the listing is timed.
    """
    root = tmp_path / "Many"
    (root / "Big").mkdir(parents=True)
    for number in range(LISTING_FILES):
        (root / "Big" / f"Episode {number:04d}.mp4").write_bytes(b"")
    live = start_server([root], tmp_path / "home", env={"COUCHCAST_FFMPEG": "/nonexistent"})
    try:
        started = time.perf_counter()
        first = live.request("/api/folders/1/items?path=Big")
        first_time = time.perf_counter() - started
        assert first.status == 200
        timings = {}
        for name, path in (("API", "/api/folders/1/items?path=Big"), ("page", "/library/1/Big")):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                response = live.request(path)
                best = min(best, time.perf_counter() - started)
            assert response.status == 200
            timings[name] = best
        assert response.body.count(b'class="card') == LISTING_FILES
    finally:
        live.stop()
    print(
        f"\n{LISTING_FILES} files: API {timings['API'] * 1000:.0f} ms, page {timings['page'] * 1000:.0f} ms "
        f"(first request, with the initial scan: {first_time * 1000:.0f} ms)"
    )
