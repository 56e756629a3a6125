"""A full disk under COUCHCAST_HOME (database, cache, logs): the library still opens and plays, saving a
position says why it cannot, and nothing is lost once there is room again.

COUCHCAST_HOME sits on a real 4 MiB tmpfs (root only: skipped where mounting is not possible), filled
to the last byte by a file the tests then delete.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers import (
    LiveServer,
    counting_ffmpeg,
    csrf_for,
    fill_disk,
    make_video,
    phone_page,
    start_server,
    tmpfs,
    wait_for,
)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("full-disk-videos")
    make_video(root / "clip.mp4", 12)
    return root


@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    with tmpfs(tmp_path_factory.mktemp("full-disk-home"), "4m") as home:
        yield home


@pytest.fixture(scope="module")
def live(videos, small_home) -> LiveServer:
    """A server whose home is full: the clip was indexed and described before the disk filled up."""
    server = start_server([videos], small_home)
    wait_for(lambda: items(server).get("clip.mp4", {}).get("thumbnail_url"))
    fill_disk(small_home)
    yield server
    server.stop()


def items(server: LiveServer) -> dict[str, dict]:
    response = server.request("/api/folders/1/items?path=")
    assert response.status == 200, response.body
    return {item["path"]: item for item in json.loads(response.body)["items"]}


def save_position(server: LiveServer, position: float):
    cookie, token = csrf_for(server, "clip.mp4")
    headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": token}
    body = json.dumps({"folder_id": 1, "path": "clip.mp4", "position": position, "duration": 12.0})
    return server.request("/api/progress", "POST", headers, body=body.encode())


def test_the_library_and_the_player_still_open_on_a_full_disk(live):
    for page in ("/", "/library/1/", "/search?q=clip", "/watch/1/clip.mp4"):
        assert live.request(page).status == 200, page
    assert "clip.mp4" in items(live)
    assert live.request("/media/1/clip.mp4", headers={"Range": "bytes=0-99"}).status == 206


def test_saving_a_position_on_a_full_disk_says_why_it_cannot(live):
    response = save_position(live, 5.0)
    assert response.status == 507
    assert "no disk space left" in json.loads(response.body)["error"]


def test_the_player_tells_the_viewer_their_place_is_not_being_saved(live, chromium):
    with phone_page(chromium, live) as page:
        page.goto(f"{live.url}/watch/1/clip.mp4")
        # Play (again, if the player swapped the source under a first play()) until a second has played.
        page.wait_for_function(
            """() => {
                const video = document.getElementById('video');
                video.muted = true;
                if (video.paused) video.play().catch(() => {});
                return video.currentTime > 1;
            }""",
            polling=250,
            timeout=30_000,
        )
        notice = page.locator("#progress-problem")
        notice.wait_for(state="visible", timeout=30_000)  # the first save comes a few seconds in
        assert "no disk space left" in notice.inner_text()


def test_a_file_added_while_the_disk_is_full_is_listed_once_there_is_room(live, videos, small_home):
    make_video(videos / "new.mp4", 2)
    time.sleep(4)  # at least one scan of the folder with the disk still full
    assert "new.mp4" not in items(live)  # not indexed yet, and the listing still works
    (small_home / "filler").unlink()
    wait_for(lambda: "new.mp4" in items(live))
    assert save_position(live, 5.0).status == 200


def test_a_full_disk_prints_no_traceback(live):
    live.stop()
    output = live.process.stdout.read()
    assert "Traceback" not in output and "Logging error" not in output, output


# ------------------------------------------------ a full cache disk: thumbnails wait, no ffmpeg loop


@pytest.fixture
def full_cache_server(tmp_path):
    """A server of one video whose cache folder (thumbnails) is a full tmpfs, with an ffmpeg that
    counts its runs."""
    videos = tmp_path / "videos"
    make_video(videos / "clip.mp4", 2)
    counting, runs = counting_ffmpeg(tmp_path)
    env = {
        "COUCHCAST_FFMPEG": str(counting),
        "COUCHCAST_DESCRIBE_RETRY": "8",
        "COUCHCAST_SCAN_INTERVAL": "0.5",
    }
    with tmpfs(tmp_path / "home" / "cache", "256k") as cache:
        fill_disk(cache)
        server = start_server([videos], tmp_path / "home", env=env)
        yield server, runs, cache
        server.stop()


def test_a_thumbnail_that_cannot_be_written_waits_and_is_made_once_there_is_room(full_cache_server):
    server, runs, cache = full_cache_server
    log = server.home / "logs" / "couchcast.log"
    wait_for(lambda: "trying again in" in log.read_text())  # the first attempt failed: no room
    attempts = len(runs.read_text().splitlines())
    time.sleep(3)  # within the retry delay: ffmpeg must not run again and again meanwhile
    assert len(runs.read_text().splitlines()) == attempts
    assert not items(server)["clip.mp4"]["thumbnail_url"]
    (cache / "filler").unlink()
    wait_for(lambda: items(server)["clip.mp4"]["thumbnail_url"])
