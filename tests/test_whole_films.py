"""Whole films in Chromium at phone size, converted: start to end, and the right moment after a seek.

The films are encoded as real ones are (B-frames, keyframes 2-10 s apart, 5.1 AC-3; HEVC with open
GOPs; 4K HEVC 10-bit with 10 s between keyframes) and carry their frame number in every picture, so
the test compares what the picture shows with what the seek bar says. Twelve-second clips with
x264 `ultrafast` passed while a remuxed film stopped at minute 2 and seeks showed the wrong moment.
"""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from tests.films import FRAME_RATE, READ_FRAME_JS, frame_time, make_film
from tests.helpers import phone_page
from tests.inprocess import start_in_process

FRAME = float(1 / FRAME_RATE)
VIDEO = "#video"
PLAYING_PAST = """(seconds) => {
  const video = document.querySelector('#video');
  if (video.error) throw new Error('playback failed: ' + video.error.message);
  return !video.seeking && !video.paused && video.currentTime > seconds;
}"""
ENDED = """() => {
  const video = document.querySelector('#video');
  if (video.error) throw new Error('playback failed: ' + video.error.message);
  return video.ended;
}"""


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    root = tmp_path_factory.mktemp("Films")
    make_film(root / "remux.mkv", 600)  # H.264 + AC-3: Chromium gets the video copied, the sound as AAC
    make_film(root / "transcode.mkv", 600, codec="hevc", audio="aac", seed=2)  # no HEVC in Chromium
    make_film(root / "uhd.mkv", 30, codec="hevc", size="3840x2160", ten_bit=True, gop=(10, 10), audio="aac")
    return root


@pytest.fixture(scope="module")
def films_server(films, tmp_path_factory):
    live = start_in_process([films], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


@pytest.fixture
def phone(chromium, films_server):
    with phone_page(chromium, films_server) as page:
        yield page


def open_player(page, server, name: str, kind: str) -> None:
    folder = json.loads(server.request("/api/folders").body)["folders"][0]["id"]
    page.goto(f"{server.url}/watch/{folder}/{name}?autoplay=1")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').dataset.playback", timeout=30_000)
    assert page.eval_on_selector(VIDEO, "video => video.dataset.playback") == kind
    if page.query_selector("#autoplay"):
        page.uncheck("#autoplay")  # stay on this film when it ends: the test reads its last pictures
    page.eval_on_selector(VIDEO, "video => { video.muted = true; video.play(); }")


def set_rate(page, rate: float) -> None:
    """Chromium's own HLS player sets the rate back to the default when it loads: set both, once playing."""
    page.wait_for_function(PLAYING_PAST, arg=0.1, timeout=60_000)
    page.eval_on_selector(VIDEO, f"v => {{ v.defaultPlaybackRate = {rate}; v.playbackRate = {rate}; }}")


def assert_picture_shows_the_clock(page) -> float:
    """The picture on screen carries the number of the moment the media clock says, within one frame.

    Read at normal speed (see READ_FRAME_JS), then the speed the test chose is set again."""
    rate = page.eval_on_selector(VIDEO, "video => video.playbackRate")
    page.eval_on_selector(VIDEO, "video => { video.playbackRate = 1; }")
    time.sleep(0.5)
    shown = page.evaluate(READ_FRAME_JS, VIDEO)
    page.eval_on_selector(VIDEO, f"video => {{ video.playbackRate = {rate}; }}")
    assert frame_time(shown["number"]) == pytest.approx(shown["mediaTime"], abs=FRAME * 1.01), shown
    return shown["mediaTime"]


def play_on_checking_the_picture(page, until: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while page.eval_on_selector(VIDEO, "video => video.currentTime") < until:
        assert time.monotonic() < deadline, f"did not reach {until} s in {timeout} s"
        page.wait_for_function(PLAYING_PAST, arg=0, timeout=60_000)
        assert_picture_shows_the_clock(page)
        time.sleep(0.5)


@pytest.mark.parametrize("kind", ["remux", "transcode"])
def test_a_ten_minute_film_plays_from_start_to_end(phone, films_server, kind):
    open_player(phone, films_server, f"{kind}.mkv", kind)
    set_rate(phone, 16)
    phone.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    assert_picture_shows_the_clock(phone)
    deadline = time.monotonic() + 300
    while not phone.evaluate(ENDED):
        assert time.monotonic() < deadline, "the film did not play to its end in 300 s"
        if not phone.eval_on_selector(VIDEO, "video => video.paused || video.seeking"):
            assert_picture_shows_the_clock(phone)
        time.sleep(1)
    assert phone.eval_on_selector(VIDEO, "video => video.currentTime") == pytest.approx(600, abs=1)


@pytest.mark.parametrize("kind", ["remux", "transcode"])
def test_after_a_seek_the_picture_shows_the_moment_the_seek_bar_says(phone, films_server, kind):
    open_player(phone, films_server, f"{kind}.mkv", kind)
    for target in (151.3, 333.7, 545.1):
        set_rate(phone, 1)  # the first picture read right after the seek, at normal speed
        phone.eval_on_selector(VIDEO, f"video => {{ video.currentTime = {target}; }}")
        phone.wait_for_function(PLAYING_PAST, arg=target, timeout=60_000)
        first = assert_picture_shows_the_clock(phone)
        assert target <= first <= target + 1.5  # the half second read_frame waits, and a busy machine
        set_rate(phone, 4)
        play_on_checking_the_picture(phone, target + 20, timeout=60)


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_seek_into_a_4k_hevc_film_plays_on_a_loaded_machine(phone, films_server):
    """A seek 8 s into a 10 s GOP of 4K HEVC 10-bit decodes those 8 s first (many CPU-seconds) while
    two other processes keep both cores busy: the waiting request keeps its conversion alive."""
    hogs = [multiprocessing.Process(target=_spin, args=(120,), daemon=True) for _ in range(2)]
    for hog in hogs:
        hog.start()
    try:
        open_player(phone, films_server, "uhd.mkv", "transcode")
        phone.wait_for_function(PLAYING_PAST, arg=0.5, timeout=90_000)
        phone.eval_on_selector(VIDEO, "video => { video.currentTime = 28; }")
        phone.wait_for_function(PLAYING_PAST, arg=28.5, timeout=90_000)
        assert assert_picture_shows_the_clock(phone) == pytest.approx(28.5, abs=1.5)
    finally:
        for hog in hogs:
            hog.terminate()
