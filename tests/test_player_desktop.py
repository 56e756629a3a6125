"""The player on a desktop browser: keyboard shortcuts, and the next video in the folder at the end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import keyed_context, make_video

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Shows")
    make_video(root / "Part 1.mp4", 2)
    make_video(root / "Part 2.mp4", 30, extra=["-movflags", "+faststart"])
    return root


@pytest.fixture
def player(chromium, library_server):
    """Open a video's player page in a desktop-sized browser; yields (page, JS errors)."""
    context = keyed_context(chromium, library_server, **DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def open_video(name: str):
        page.goto(f"{library_server.url}/watch/1/{name}")
        page.locator("#video").evaluate(
            "v => new Promise(r => v.readyState >= 1 ? r() : v.onloadedmetadata = r)"
        )
        return page

    yield open_video, errors
    context.close()


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(100)


def test_space_plays_and_pauses(player):
    open_video, errors = player
    page = open_video("Part%202.mp4")
    page.keyboard.press("Space")
    wait_until(page, "() => document.getElementById('video').currentTime > 0.5")
    page.keyboard.press("Space")
    assert page.evaluate("() => document.getElementById('video').paused") is True
    assert errors == []


def test_m_mutes_and_unmutes(player):
    open_video, _ = player
    page = open_video("Part%202.mp4")
    page.keyboard.press("m")
    assert page.evaluate("() => document.getElementById('video').muted") is True
    page.keyboard.press("m")
    assert page.evaluate("() => document.getElementById('video').muted") is False


def test_right_arrow_skips_ten_seconds(player):
    open_video, _ = player
    page = open_video("Part%202.mp4")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.getElementById('video').currentTime") == pytest.approx(10, abs=0.5)


def test_the_end_of_a_video_plays_the_next_one_in_the_folder(player):
    open_video, errors = player
    page = open_video("Part%201.mp4")
    page.locator("#video").evaluate("v => { v.muted = true; v.play(); }")
    page.wait_for_url("**/watch/1/Part%202.mp4?autoplay=1", timeout=30_000)
    wait_until(page, "() => document.getElementById('video').currentTime > 0.5")
    assert errors == []
