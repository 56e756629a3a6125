"""Shared fixtures: real media made by ffmpeg, a real server process, a real Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import LiveServer, make_video, start_server
from tests.inprocess import InProcessServer, start_in_process
from tests.xsession import XSession, start_session

# Playwright's sync API keeps an asyncio loop running in the test process once Chromium has started,
# and Django then refuses ORM calls from that thread (SynchronousOnlyOperation) in the tests that run
# Django in-process after a browser test. Those tests are synchronous code, not async views.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    """A shared folder as people have them: videos, subtitles, a sub-folder, and things never served."""
    root = tmp_path_factory.mktemp("Videos")
    make_video(root / "clip.mp4", 10, extra=["-movflags", "+faststart"])
    (root / "clip.en.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nHello\n\n", encoding="utf-8")
    make_video(root / "Series" / "Episode 1.mp4", 4)
    (root / "Series" / ".hidden.mp4").write_bytes((root / "clip.mp4").read_bytes())
    (root / ".secret").mkdir()
    (root / ".secret" / "inside.mp4").write_bytes(b"not for anyone")
    (root / "notes.txt").write_text("not media")
    return root


@pytest.fixture(scope="session")
def server(media_root, tmp_path_factory) -> LiveServer:
    """`couchcast serve` in a process of its own, for the whole session."""
    live = start_server([media_root], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def x_session() -> XSession:
    """Xvfb on a free display, a session D-Bus, and trayer owning the system tray."""
    session = start_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never `playwright install`: nothing downloads here)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (see README)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def django_home(tmp_path_factory) -> Path:
    """Django set up in this test process (settings, migrated SQLite under a fresh COUCHCAST_HOME), for
    tests that call the library's plain functions directly. No scanner thread runs."""
    home = tmp_path_factory.mktemp("django-home")
    os.environ.setdefault("COUCHCAST_HOME", str(home))
    from server.app import setup_django

    setup_django()
    return Path(os.environ["COUCHCAST_HOME"])


@pytest.fixture(scope="module")
def library_server(library, tmp_path_factory) -> InProcessServer:
    """A server of its own for the test module's `library` fixture, so the watch progress and file
    changes a module makes never leak into other modules' servers."""
    live = start_in_process([library], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()
