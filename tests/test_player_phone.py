"""The phone journey in Chromium (390x844, touch): QR link, browse, play with subtitles, resume elsewhere."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import PHONE, LiveServer, keyed_context, make_video

FIRST_LOAD_BUDGET = 300 * 1024
SUBTITLES = "1\r\n00:00:00,000 --> 00:00:30,000\r\n<i>Hello</i> from the subtitles\r\n"


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Videos")
    make_video(root / "Family" / "Holiday.2019.mp4", 20, extra=["-movflags", "+faststart"])
    (root / "Family" / "Holiday.2019.en.srt").write_bytes(SUBTITLES.encode("utf-16"))
    make_video(root / "Family" / "Birthday.mp4", 3)
    return root


class Watched:
    """A page's JavaScript errors and console errors, and the bytes it transferred (but thumbnails)."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.transferred = 0
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("requestfinished", self._count)

    def _count(self, request) -> None:
        if "/thumbnails/" not in request.url:
            sizes = request.sizes()
            # A response served from the browser's cache reports a negative body size: nothing transferred.
            self.transferred += max(0, sizes["responseBodySize"] + sizes["responseHeadersSize"])


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JS function until it is true (page.wait_for_function evals strings; the CSP forbids that)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(100)


def phone_link(library_server: LiveServer) -> str:
    """The link the QR code holds, pointed at 127.0.0.1 (tests reach nothing but loopback)."""
    import re

    page = library_server.request("/").body.decode()
    link = re.search(r'id="phone-link" href="([^"]+)"', page).group(1)
    parts = urlsplit(link)
    assert parts.port == library_server.port and parts.query == f"key={library_server.key}"
    return f"http://127.0.0.1:{library_server.port}{parts.path}?{parts.query}"


def test_phone_opens_the_qr_link_plays_with_subtitles_and_resumes_on_another_phone(
    chromium, library_server, library
):
    first = chromium.new_context(**PHONE)
    page = first.new_page()
    watched = Watched(page)

    started = time.perf_counter()
    page.goto(phone_link(library_server), wait_until="load")
    load_time = time.perf_counter() - started
    page.wait_for_load_state("networkidle")  # every response counted, not only those before "load"
    assert page.url == f"{library_server.url}/"
    first_load = watched.transferred
    print(
        f"\nphone library first load: {load_time * 1000:.0f} ms, {first_load / 1024:.1f} KB (no thumbnails)"
    )
    assert first_load <= FIRST_LOAD_BUDGET
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("link", name=library.name).tap()
    page.get_by_role("link", name="Family").tap()
    page.get_by_role("link", name="Holiday (2019)").tap()
    page.wait_for_url("**/watch/1/Family/Holiday.2019.mp4")

    video = page.locator("#video")
    page.select_option("#speed", "2")  # the player's own speed control keeps the test short
    video.evaluate("v => v.play()")
    wait_until(page, "() => document.getElementById('video').currentTime > 6")

    assert video.evaluate("v => [...v.textTracks].map(t => [t.kind, t.label, t.language])") == [
        ["subtitles", "English", "en"]
    ]
    video.evaluate("v => { v.textTracks[0].mode = 'hidden'; }")
    wait_until(page, "() => (document.getElementById('video').textTracks[0].cues || []).length === 1")
    assert video.evaluate("v => v.textTracks[0].cues[0].text") == "<i>Hello</i> from the subtitles"

    with page.expect_response("**/api/progress") as saved:
        video.evaluate("v => v.pause()")
    assert saved.value.status == 200
    position = saved.value.json()["position"]
    assert position > 6

    second = keyed_context(chromium, library_server, **PHONE)
    other = second.new_page()
    other_watched = Watched(other)
    other.goto(f"{library_server.url}/")
    card = other.locator("#continue-watching .card", has_text="Holiday (2019)")
    assert card.locator("progress").count() == 1
    card.tap()
    resume = other.locator("#resume")
    assert resume.inner_text() == f"Resume at 0:{int(position):02d}"
    resume.tap()
    wait_until(
        other,
        f"() => (v => !v.paused && v.currentTime >= {position - 0.5})(document.getElementById('video'))",
    )

    assert watched.errors == []
    assert other_watched.errors == []
    first.close()
    second.close()
