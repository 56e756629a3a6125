"""A phone's journey in real Chromium: open the phone link, play a real H.264/AAC file, seek to 7 s.

The media requests carry the cookie alone (no key in the URL, no Authorization header), as Safari's
would. The file is large (tens of MB) because Chromium buffers a small file whole on its first request: the
seek must land past what it buffered to be fetched with a new `Range: bytes=N-` request.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import make_video
from tests.inprocess import start_in_process

MEDIA_PATH = "/media/1/seek.mp4"
SEEK_TO = 7


@pytest.fixture(scope="module")
def e2e_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-videos")
    make_video(
        root / "seek.mp4",
        60,
        size="640x360",
        # A steady high bitrate (about 36 MB for 60 s) with a keyframe every second, so 7 s is far in.
        video=[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            "8M",
            "-minrate",
            "8M",
        ]
        + ["-maxrate", "8M", "-bufsize", "4M", "-x264-params", "keyint=25"],
        extra=["-movflags", "+faststart"],
    )
    live = start_in_process([root], tmp_path_factory.mktemp("e2e-home"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def played(e2e_server, chromium):
    """Everything one playback session showed: cookies, media requests, and the video's own events."""
    context = chromium.new_context()
    page = context.new_page()
    # The headers Chromium really sent (Range, Cookie) are only in the DevTools protocol's ExtraInfo
    # events; Playwright's request events miss the media element's later range requests.
    urls, sent_headers = {}, {}
    devtools = context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    devtools.on(
        "Network.requestWillBeSentExtraInfo",
        lambda e: sent_headers.setdefault(e["requestId"], []).append(
            {name.lower(): value for name, value in e["headers"].items()}
        ),
    )
    try:
        landing = page.goto(f"{e2e_server.url}/?key={e2e_server.key}")
        landed_on = page.url
        cookies = context.cookies()
        # A <video> on a page of the server itself: same origin, so the cookie goes with every request.
        page.evaluate(
            """(src) => {
                document.body.innerHTML = '';
                const video = document.createElement('video');
                video.id = 'v';
                video.muted = true;
                video.preload = 'metadata';
                video.src = src;
                document.body.appendChild(video);
            }""",
            MEDIA_PATH,
        )
        # Waits are promises inside the page: the server's CSP (no 'unsafe-eval') rules out wait_for_function.
        page.evaluate(
            """() => new Promise((resolve, reject) => {
                const video = document.getElementById('v');
                if (video.readyState >= 1) resolve();
                video.addEventListener('loadedmetadata', resolve, {once: true});
                video.addEventListener('error', () => reject(new Error('media error ' + video.error.code)));
            })"""
        )
        # Seek while only the metadata is buffered (preload=metadata), then play from there: over
        # loopback, a playing video would have buffered past 7 s before any seek could be made.
        seeked = page.evaluate(
            """(target) => new Promise((resolve) => {
                const video = document.getElementById('v');
                video.addEventListener('seeked', () => resolve(video.currentTime), {once: true});
                video.currentTime = target;
            })""",
            SEEK_TO,
        )
        page.evaluate("document.getElementById('v').play()")
        page.evaluate(
            """(target) => new Promise((resolve, reject) => {
                const video = document.getElementById('v');
                const check = () => { if (video.currentTime > target) resolve(); };
                video.addEventListener('timeupdate', check);
                check();
                setTimeout(() => reject(new Error('playback stuck at ' + video.currentTime)), 20000);
            })""",
            SEEK_TO + 0.5,
        )
        state = page.evaluate(
            """() => {
                const video = document.getElementById('v');
                const error = video.error && video.error.code;
                return {paused: video.paused, error: error, time: video.currentTime};
            }"""
        )
        yield {
            "landing_status": landing.status,
            "landed_on": landed_on,
            "cookies": cookies,
            "requests": [
                (urls[request_id], headers)
                for request_id, sent in sent_headers.items()
                for headers in sent
                if "/media/" in urls.get(request_id, "")
            ],
            "seeked_at": seeked,
            "state": state,
        }
    finally:
        context.close()


def range_starts(requests) -> list[int]:
    starts = []
    for _, headers in requests:
        match = re.fullmatch(r"bytes=(\d+)-\d*", headers.get("range", ""))
        if match:
            starts.append(int(match.group(1)))
    return starts


def test_phone_link_lands_on_the_library_without_the_key_in_the_url(played, e2e_server):
    assert played["landing_status"] == 200
    assert played["landed_on"] == f"{e2e_server.url}/"


def test_phone_link_leaves_an_httponly_cookie(played, e2e_server):
    (cookie,) = [c for c in played["cookies"] if c["name"] == "couchcast_key"]
    assert (cookie["value"], cookie["httpOnly"], cookie["sameSite"]) == (e2e_server.key, True, "Lax")


def test_media_requests_carry_the_cookie_alone(played, e2e_server):
    assert played["requests"]
    for url, headers in played["requests"]:
        assert "key=" not in url
        assert "authorization" not in headers
        assert f"couchcast_key={e2e_server.key}" in headers["cookie"]


def test_seek_to_seven_seconds_fires_seeked_there(played):
    assert played["seeked_at"] == pytest.approx(SEEK_TO, abs=0.5)


def test_playback_continues_after_the_seek(played):
    assert played["state"]["error"] is None
    assert played["state"]["paused"] is False
    assert played["state"]["time"] > SEEK_TO + 0.5


def test_the_seek_asked_the_server_for_a_range_past_the_start(played):
    assert any(start > 0 for start in range_starts(played["requests"])), [
        h.get("range") for _, h in played["requests"]
    ]
