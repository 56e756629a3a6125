"""The library on a real server: index freshness, thumbnails and durations, pages, search, progress."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import LiveServer, csrf_for, described, items, make_video, start_server, wait_for

TRIP = "Movies/The.Big.Trip.2019.1080p.mp4"


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Library")
    make_video(root / TRIP, 4)
    (root / "Movies" / "broken.mp4").write_bytes(b"not a video at all" * 200)
    make_video(root / "Top.mp4", 2)
    return root


def save_progress(library_server: LiveServer, path: str, body: dict, *, with_token: bool = True):
    cookie, token = csrf_for(library_server, path)
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    if with_token:
        headers["X-CSRFToken"] = token
    payload = json.dumps({"folder_id": 1, "path": path, **body}).encode()
    return library_server.request("/api/progress", "POST", headers, body=payload)


def test_a_described_video_has_its_duration_and_thumbnail_in_the_api(library_server):
    item = described(library_server, TRIP)
    assert item["duration"] == pytest.approx(4, abs=0.1)
    assert item["thumbnail_url"].startswith("/thumbnails/1/Movies/")
    assert item["title"] == "The Big Trip (2019)"


def test_the_thumbnail_url_serves_a_jpeg(library_server):
    response = library_server.request(described(library_server, TRIP)["thumbnail_url"])
    assert response.status == 200
    assert response.header("Content-Type") == "image/jpeg"
    assert response.body[:3] == b"\xff\xd8\xff"


def test_a_thumbnail_lost_from_the_cache_is_made_again(library_server):
    url = described(library_server, TRIP)["thumbnail_url"]
    shutil.rmtree(library_server.home / "cache" / "thumbnails")  # a cache cleaner ran
    assert library_server.request(url).header("Content-Type") == "image/svg+xml"  # the placeholder
    wait_for(lambda: library_server.request(url).header("Content-Type") == "image/jpeg")
    assert described(library_server, TRIP)["thumbnail_url"] == url  # same file, same key


def test_the_thumbnail_needs_the_access_key(library_server):
    response = library_server.request(described(library_server, TRIP)["thumbnail_url"], with_key=False)
    assert response.status == 401


def test_a_file_ffmpeg_cannot_read_is_listed_without_thumbnail_or_duration(library_server):
    item = described(library_server, "Movies/broken.mp4")
    assert (item["thumbnail_url"], item["duration"]) == (None, None)


def test_a_new_file_is_listed_at_once(library_server, library):
    make_video(library / "Movies" / "Arrived later.mp4", 1)
    assert "Movies/Arrived later.mp4" in items(library_server, "Movies")


def test_the_scanner_indexes_a_new_file_without_a_restart(library_server, library):
    """Search reads the index only, so this shows the background scanner at work (latency printed)."""
    make_video(library / "Deep" / "Down" / "Hidden treasure.mp4", 1)
    started = time.monotonic()
    wait_for(lambda: b"Hidden treasure" in library_server.request("/search?q=treasure").body, timeout=20)
    print(f"\nnew file found by search (indexed by the scanner) after {time.monotonic() - started:.1f} s")


def test_the_scanner_drops_a_removed_file_without_a_restart(library_server, library):
    make_video(library / "Deep" / "Short lived.mp4", 1)
    wait_for(lambda: b"Short lived" in library_server.request("/search?q=short%20lived").body, timeout=20)
    (library / "Deep" / "Short lived.mp4").unlink()
    wait_for(lambda: b"Short lived" not in library_server.request("/search?q=short%20lived").body, timeout=20)


def test_a_removed_file_disappears_without_a_restart(library_server, library):
    shutil.copy(library / "Top.mp4", library / "Movies" / "Soon gone.mp4")
    wait_for(lambda: "Movies/Soon gone.mp4" in items(library_server, "Movies"), timeout=20)
    (library / "Movies" / "Soon gone.mp4").unlink()
    wait_for(lambda: "Movies/Soon gone.mp4" not in items(library_server, "Movies"), timeout=20)


def test_a_changed_file_gets_a_new_thumbnail_url(library_server, library):
    make_video(library / "Movies" / "Changing.mp4", 2)
    before = described(library_server, "Movies/Changing.mp4")["thumbnail_url"]
    make_video(library / "Movies" / "Changing.mp4", 3, size="640x360")
    after = wait_for(
        lambda: (
            (i := items(library_server, "Movies")["Movies/Changing.mp4"])["thumbnail_url"]
            not in (None, before)
            and i
        )
    )
    assert after["duration"] == pytest.approx(3, abs=0.1)


def test_the_folder_page_lists_sub_folders_and_readable_titles(library_server):
    page = library_server.request("/library/1/").body.decode()
    assert 'href="/library/1/Movies"' in page
    assert ">Top<" in page
    movies = library_server.request("/library/1/Movies").body.decode()
    assert "The Big Trip (2019)" in movies


def test_a_folder_outside_the_share_is_a_friendly_404(library_server):
    response = library_server.request("/library/1/../../etc")
    assert response.status == 404
    assert b"Traceback" not in response.body


def test_search_finds_files_in_any_folder_by_words(library_server):
    page = library_server.request("/search?q=big%20trip").body.decode()
    assert "1 result for" in page
    assert "The Big Trip (2019)" in page


def test_progress_is_refused_without_the_csrf_token(library_server):
    response = save_progress(library_server, TRIP, {"position": 2.0, "duration": 4.0}, with_token=False)
    assert response.status == 403


def test_progress_for_a_file_outside_the_share_is_a_404(library_server):
    response = save_progress(library_server, TRIP, {"path": "../secret.mp4", "position": 1.0})
    assert response.status == 404
    assert "error" in json.loads(response.body)


def test_progress_with_a_bad_position_is_a_400(library_server):
    response = save_progress(library_server, TRIP, {"position": "soon"})
    assert response.status == 400
    assert "error" in json.loads(response.body)


def test_playing_to_the_end_marks_watched_and_starts_over_next_time(library_server):
    response = save_progress(library_server, "Top.mp4", {"position": 2.0, "duration": 2.0, "ended": True})
    assert json.loads(response.body) == {"position": 0.0, "watched": True}
    assert items(library_server)["Top.mp4"]["watched"] is True


def test_a_saved_position_is_offered_as_resume_on_the_player(library_server, library):
    film = "Evening/Long_film.mp4"  # long enough to be left part-way (TRIP is 4 s)
    make_video(library / film, 90, size="64x48")
    assert save_progress(library_server, film, {"position": 75.0, "duration": 90.0}).status == 200
    page = library_server.request(f"/watch/1/{film}").body.decode()
    assert "Resume at 1:15" in page


def test_without_ffmpeg_the_library_works_and_says_thumbnails_are_off(library, tmp_path):
    other = start_server([library], tmp_path / "home", env={"COUCHCAST_FFMPEG": "/nonexistent"})
    try:
        page = other.request("/library/1/Movies").body.decode()
        listed = items(other, "Movies")
    finally:
        other.stop()
    assert "Thumbnails and durations are off" in page
    assert listed[TRIP]["thumbnail_url"] is None
    assert "The Big Trip (2019)" in page


def test_an_empty_library_explains_how_to_add_a_folder(tmp_path):
    other = start_server([], tmp_path / "home")
    try:
        page = other.request("/").body.decode()
    finally:
        other.stop()
    assert "No folders are shared yet" in page
    assert "Add folder" in page


def test_the_home_page_shows_the_phone_link_with_the_key_and_port(library_server):
    page = library_server.request("/").body.decode()
    link = re.search(r'id="phone-link" href="([^"]+)"', page).group(1)
    assert link.endswith(f":{library_server.port}/?key={library_server.key}")
    assert 'src="data:image/svg+xml' in page
