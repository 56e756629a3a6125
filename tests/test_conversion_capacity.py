"""When every core the server allows for conversions is taken, the next viewer is told at once, in
words the player shows, never left with a silent wait."""

from __future__ import annotations

import json
import time

import pytest

from tests.films import make_film
from tests.helpers import phone_page
from tests.inprocess import start_in_process

# Room for one small transcode (320x180 costs about 0.16 of a core), not two.
CORES = "0.25"


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    root = tmp_path_factory.mktemp("Films")
    for name in ("first.mkv", "second.mkv"):
        make_film(root / name, 60, codec="hevc", audio="aac")  # Chromium plays no HEVC: a transcode
    return root


@pytest.fixture
def busy_server(films, tmp_path):
    """A server of its own per test: no conversion of another test is still counted."""
    live = start_in_process([films], tmp_path / "home", environ={"COUCHCAST_CONVERSION_CORES": CORES})
    yield live
    live.stop()


def test_a_viewer_past_capacity_reads_why_at_once_and_the_first_plays_on(chromium, busy_server):
    folder = json.loads(busy_server.request("/api/folders").body)["folders"][0]["id"]
    with phone_page(chromium, busy_server) as first, phone_page(chromium, busy_server) as second:
        first.goto(f"{busy_server.url}/watch/{folder}/first.mkv?autoplay=1")
        first.eval_on_selector("#video", "video => { video.muted = true; video.play(); }")
        first.wait_for_function("() => document.querySelector('#video').currentTime > 1", timeout=60_000)

        asked = time.monotonic()
        second.goto(f"{busy_server.url}/watch/{folder}/second.mkv?autoplay=1")
        second.wait_for_selector("#playback-problem:not([hidden])", timeout=10_000)
        assert time.monotonic() - asked < 10
        assert "1 other video is being converted on this computer" in second.inner_text("#playback-problem")
        assert second.eval_on_selector("#video", "video => video.dataset.playback") == "busy"

        playing_at = first.eval_on_selector("#video", "video => video.currentTime")
        first.wait_for_function(f"() => document.querySelector('#video').currentTime > {playing_at + 2}")


def test_a_segment_past_capacity_is_a_503_with_retry_after_and_words(busy_server):
    folder = json.loads(busy_server.request("/api/folders").body)["folders"][0]["id"]
    uris = []
    for name in ("first.mkv", "second.mkv"):
        playlist = busy_server.request(f"/hls/{folder}/{name}/transcode.m3u8").body.decode()
        uris.append(next(line for line in playlist.splitlines() if line.startswith("/l/")))
    assert busy_server.request(uris[0], with_key=False).status == 200
    refused = busy_server.request(uris[1], with_key=False)
    assert refused.status == 503
    assert refused.header("Retry-After")
    assert "being converted on this computer" in json.loads(refused.body)["error"]
