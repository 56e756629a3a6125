"""Driving a browser other than Chromium through the player page: Firefox (Marionette) and WebKitGTK
(WebDriver) answer the same few calls, so the checks of what the picture shows are written once."""

from __future__ import annotations

import io
import json
import time

import av
import pytest

from tests.films import FRAME_RATE, READ_FRAME_JS, frame_time
from tests.helpers import playlist_uris, wait_for

FRAME = float(1 / FRAME_RATE)
VIDEO = "#video"
PLAYING_PAST = """const video = document.querySelector('#video');
if (video.error) throw new Error('playback failed: ' + video.error.message);
return !video.seeking && !video.paused && video.currentTime > arguments[0];"""


class Browser:
    """One browser session: go to a URL, run a script (a returned promise is awaited, as WebDriver's
    Execute Script does), wait for a script to be true."""

    def go(self, url: str) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def run(self, script: str, *args):
        raise NotImplementedError

    def wait(self, script: str, *args, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script, *args)
            if value:
                return value
            assert time.monotonic() < deadline, f"not true in {timeout} s: {script}"
            time.sleep(0.2)

    def give_key(self, server) -> None:
        """The server's key as the cookie a phone keeps: the server sets it for `?key=` and redirects
        to the page without it, as for a phone that scanned the pairing code."""
        self.go(f"{server.url}/?key={server.key}")
        assert "key=" not in self.url()


def open_player(browser: Browser, server, name: str) -> dict:
    """The film's player page, started and muted; the plan the page got and how it plays it."""
    folder = json.loads(server.request("/api/folders").body)["folders"][0]["id"]
    browser.go(f"{server.url}/watch/{folder}/{name}?autoplay=1")
    browser.wait(f"return document.querySelector('{VIDEO}').dataset.playback", timeout=30)
    browser.run(f"const v = document.querySelector('{VIDEO}'); v.muted = true; v.play();")
    return browser.run(
        f"""const v = document.querySelector('{VIDEO}');
        return {{kind: v.dataset.playback, source: v.dataset.source, src: v.src,
                 hlsJs: Boolean(v.couchcastHls)}};"""
    )


def picture_and_clock(browser: Browser) -> dict | None:
    """The number in the next picture shown and that picture's media time (at normal speed), or None
    when no new picture comes in 5 s: a frozen picture is one the video never replaces."""
    return browser.run(
        f"""return Promise.race([
          ({READ_FRAME_JS})(arguments[0]),
          new Promise((resolve) => setTimeout(() => resolve(null), 5000)),
        ]);""",
        VIDEO,
    )


def hls_js_shift(server, playlist_url: str) -> float:
    """How far hls.js puts the media clock ahead of the film's own time, in seconds.

    hls.js starts its clock at the lowest decode time of the first segment it loads, sound or video
    (mp4-remuxer: "Bind initPTS to the lowest DTS across tracks to prevent negative timestamps").
    A copied H.264 with B-frames decodes its first picture before showing it: the clock then runs
    ahead of the film by that delay (2 frames for x264's default B-pyramid), the sound along with
    the picture, so they stay together. A transcode has no B-frames: no shift. Read from the first
    segment, fetched as another viewer would (its own playlist, so the page's process is left alone).
    """
    first = playlist_uris(server.request(playlist_url).body)[0]
    segment = wait_for(lambda: (response := server.request(first)).status == 200 and response.body)
    with av.open(io.BytesIO(segment), format="mpegts") as container:
        starts, shown = [], None
        for stream in container.streams:
            packet = next(p for p in container.demux(stream) if p.dts is not None)
            starts.append(float(packet.dts * packet.time_base))
            if stream.type == "video":
                shown = float(packet.pts * packet.time_base)
            container.seek(0)
    return shown - min(starts)


# Readings of one picture: Firefox on a busy machine now and then paints, in a frame callback, a
# picture two frames older than the callback's mediaTime (seen once in a clean-clone CI run while
# every other reading matched). A wrong seek or a frozen picture fails every reading.
READINGS = 3


def assert_picture_shows_the_clock(browser: Browser, shift: float = 0.0) -> float:
    """The number in the picture is the moment the clock says (less `shift`), within a frame, in one
    of READINGS consecutive new pictures; returns that clock."""
    for _ in range(READINGS):
        shown = picture_and_clock(browser)
        clock = browser.run(f"return document.querySelector('{VIDEO}').currentTime;")
        froze = f"no new picture in 5 s while the clock went on to {clock} s: the picture froze"
        assert shown is not None, froze
        if frame_time(shown["number"]) + shift == pytest.approx(shown["mediaTime"], abs=FRAME * 1.01):
            return shown["mediaTime"]
    raise AssertionError(f"the picture is not the moment of the clock in {READINGS} readings: {shown}")


def seek_and_watch(browser: Browser, target: float, shift: float | None = 0.0) -> None:
    """After a seek the picture shows the moment asked for, and goes on with the clock: two readings
    seconds apart that each match the clock, the second later (a frozen picture fails both).

    `shift`: how far the clock runs ahead of the picture (see hls_js_shift); None when the browser's
    own player decides it: read before the seek (at most the 3 frames a B-frame film's decoding runs
    ahead of its pictures), then held to after it."""
    browser.wait(PLAYING_PAST, 0.5, timeout=60)
    if shift is None:
        shown = picture_and_clock(browser)
        assert shown is not None, "no picture in 5 s after the film started"
        shift = round((shown["mediaTime"] - frame_time(shown["number"])) / FRAME) * FRAME
        assert 0 <= shift <= 3 * FRAME, shown
    assert_picture_shows_the_clock(browser, shift)
    browser.run(f"document.querySelector('{VIDEO}').currentTime = arguments[0];", target)
    browser.wait(PLAYING_PAST, target, timeout=60)
    first = assert_picture_shows_the_clock(browser, shift)
    assert target <= first <= target + 1.5
    browser.wait(PLAYING_PAST, first + 3, timeout=30)
    later = assert_picture_shows_the_clock(browser, shift)
    assert later >= first + 3
