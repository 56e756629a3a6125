"""File-system notifications keep the index fresh without polling; shares they cannot cover are polled.

Changes are checked through search, which reads the index only: a folder's JSON listing re-reads that
folder when asked, so it would show a change even with no scanner at all. The servers here poll and
rescan so rarely (`NO_POLLING`) that only a notification can bring a change into search in time.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import LiveServer, start_server, wait_for
from tests.inprocess import make_runtime

# Neither the polling interval nor the safety rescan comes round during a test.
NO_POLLING = {
    "COUCHCAST_SCAN_INTERVAL": "600",
    "COUCHCAST_RESCAN_INTERVAL": "600",
    "COUCHCAST_FFMPEG": "/nonexistent",
}
# Generous: a notified change is in the index about a second after it happens.
IN_TIME = 15


def in_search(server: LiveServer, words: str) -> bool:
    return b"<h1>0 results for" not in server.request(f"/search?q={quote(words)}").body


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Watched")
    (root / "Series" / "Season 1").mkdir(parents=True)
    (root / "Series" / "Season 1" / "Pilot.mp4").touch()
    return root


@pytest.fixture(scope="module")
def watched_server(library, tmp_path_factory) -> LiveServer:
    server = start_server([library], tmp_path_factory.mktemp("home"), env=NO_POLLING)
    wait_for(lambda: in_search(server, "Pilot"))  # the first, whole read is done
    yield server
    server.stop()


def test_a_file_made_in_a_nested_folder_is_found_without_a_rescan(watched_server, library):
    """A notification, not a scan, brings a new file deep in the tree into the index."""
    (library / "Series" / "Season 1" / "Deep" / "Deeper").mkdir(parents=True)
    (library / "Series" / "Season 1" / "Deep" / "Deeper" / "Arrived.mp4").touch()
    wait_for(lambda: in_search(watched_server, "Arrived"), timeout=IN_TIME)


def test_a_renamed_file_is_found_under_its_new_name_only(watched_server, library):
    """A rename within the share is one move event: the old name leaves the index, the new one enters."""
    season = library / "Series" / "Season 1"
    (season / "Before rename.mp4").touch()
    wait_for(lambda: in_search(watched_server, "Before rename"), timeout=IN_TIME)
    (season / "Before rename.mp4").rename(season / "After rename.mp4")
    wait_for(lambda: in_search(watched_server, "After rename"), timeout=IN_TIME)
    assert not in_search(watched_server, "Before rename")


def test_a_deleted_file_leaves_search(watched_server, library):
    """A deletion is notified: the file is dropped from the index without a rescan."""
    (library / "Series" / "Short lived.mp4").touch()
    wait_for(lambda: in_search(watched_server, "Short lived"), timeout=IN_TIME)
    (library / "Series" / "Short lived.mp4").unlink()
    wait_for(lambda: not in_search(watched_server, "Short lived"), timeout=IN_TIME)


def test_a_deleted_folder_takes_every_file_below_it_out_of_search(watched_server, library):
    """One event for a removed folder drops the files of its whole sub-tree."""
    (library / "Old show" / "Season 9").mkdir(parents=True)
    (library / "Old show" / "Season 9" / "Finale.mp4").touch()
    wait_for(lambda: in_search(watched_server, "Finale"), timeout=IN_TIME)
    shutil.rmtree(library / "Old show")
    wait_for(lambda: not in_search(watched_server, "Finale"), timeout=IN_TIME)


def test_a_folder_moved_in_from_outside_is_indexed_whole(watched_server, library, tmp_path):
    """A folder moved into the share arrives as one event for the folder: its contents are read."""
    outside = tmp_path / "Downloads" / "Documentary"
    (outside / "Part 1").mkdir(parents=True)
    (outside / "Part 1" / "Oceans.mp4").touch()
    shutil.move(outside, library / "Documentary")
    wait_for(lambda: in_search(watched_server, "Oceans"), timeout=IN_TIME)


# ------------------------------------------------ shares notifications cannot cover are polled


def watch_limit(watches: int) -> tuple[str, ...]:
    """A command prefix that runs the server in a user namespace of its own whose inotify watch limit
    is `watches` (the machine's own limit is untouched); the test is skipped where that cannot be."""
    command = f"echo {watches} > /proc/sys/user/max_inotify_watches"
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-Ur", "sh", "-c", command]).returncode:
        pytest.skip("cannot make a user namespace with its own inotify watch limit here")
    return ("unshare", "-Ur", "sh", "-c", f'{command} && exec "$@"', "sh")


def test_a_share_past_the_watch_limit_is_polled_and_says_so(tmp_path):
    """With the system's limit on watched folders reached part-way through a share (watchdog then
    watches only some of its folders, silently), the share is polled, and the log says why."""
    root = tmp_path / "Many folders"
    for number in range(20):
        (root / f"Folder {number:02d}").mkdir(parents=True)
    (root / "Folder 19" / "Known.mp4").touch()
    env = {**NO_POLLING, "COUCHCAST_SCAN_INTERVAL": "1"}
    server = start_server([root], tmp_path / "home", env=env, prefix=watch_limit(5))
    try:
        wait_for(lambda: in_search(server, "Known"))
        (root / "Folder 19" / "Polled.mp4").touch()
        wait_for(lambda: in_search(server, "Polled"), timeout=IN_TIME)
        log = (tmp_path / "home" / "logs" / "couchcast.log").read_text()
        assert "limit on watched folders was reached" in log
        assert log.count("read again every 1 s instead") == 1
    finally:
        server.stop()


# ------------------------------------------------ shares added and removed at run time, and stopping


@pytest.fixture
def runtime(django_home, tmp_path):
    from server.options import RuntimeOptions

    return make_runtime(tmp_path / "home", options=RuntimeOptions(scan_interval=0.2))


@pytest.fixture
def scanner(runtime):
    runtime.scanner.start()
    yield runtime.scanner
    runtime.scanner.stop()


def test_a_folder_shared_at_run_time_is_watched_and_dropped_when_unshared(runtime, scanner, tmp_path):
    """The scanner follows the list of shared folders: a new one gets notifications, a removed one
    loses them."""
    root = tmp_path / "Added later"
    root.mkdir()
    runtime.shares.share_for_this_run([str(root)])
    share_id = next(share.id for share in runtime.shares.shared() if share.path == str(root))
    try:
        wait_for(lambda: share_id in scanner.watched(), timeout=IN_TIME)
    finally:
        runtime.shares.unshare(str(root))
    wait_for(lambda: share_id not in scanner.watched(), timeout=IN_TIME)


def test_stopping_the_scanner_leaves_no_thread_behind(runtime, tmp_path):
    """Stopping the scanner stops watchdog's observer too: no thread of it outlives the server."""
    root = tmp_path / "Watched then stopped"
    root.mkdir()
    runtime.shares.share_for_this_run([str(root)])
    share_id = next(share.id for share in runtime.shares.shared() if share.path == str(root))
    threads_before = set(threading.enumerate())
    scanner = runtime.scanner
    scanner.start()
    try:
        wait_for(lambda: share_id in scanner.watched(), timeout=IN_TIME)
    finally:
        scanner.stop()
    left = [thread for thread in set(threading.enumerate()) - threads_before if thread.is_alive()]
    assert not left, left
