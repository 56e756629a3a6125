"""Films in a real WebKit: Debian's WebKitGTK (MiniBrowser) under Xvfb, driven by its WebDriver.

WebKitGTK is Safari's engine with GStreamer underneath: its User-Agent reads as Safari, it sends the
cookie with media requests (no Authorization header there, as Safari), asks a file first without a
Range and then with open-ended ones, and plays what the GStreamer plugins installed decode. Unlike
Safari it has no native HLS: converted streams go through hls.js. Every film carries its frame number
in every picture (tests/films.py): each test compares the picture with the clock, before and after a
seek.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browsers import Browser, hls_js_shift, open_player, seek_and_watch
from tests.films import make_film
from tests.helpers import free_port, wait_for_port
from tests.inprocess import start_in_process
from tests.xsession import start_xvfb

SECONDS = 60
DRIVER = shutil.which("WebKitWebDriver")
# The browser WebKitWebDriver starts: Debian ships it beside the library (webkit2gtk-driver pulls it in).
MINIBROWSER = next(
    (str(path) for path in Path("/usr/lib").glob("*/webkit2gtk-4.*/MiniBrowser")),
    None,
)


class WebKit(Browser):
    """WebKitGTK through Selenium's remote WebDriver."""

    def __init__(self, driver) -> None:
        self.driver = driver

    def go(self, url: str) -> None:
        self.driver.get(url)

    def url(self) -> str:
        return self.driver.current_url

    def run(self, script: str, *args):
        return self.driver.execute_script(script, *args)


@pytest.fixture(scope="module")
def webkit():
    if DRIVER is None or MINIBROWSER is None or shutil.which("Xvfb") is None:
        pytest.skip("WebKitGTK is not installed: scripts/test-all.sh installs webkit2gtk-driver and xvfb")
    missing = "selenium is missing: pip install -e '.[test]'"
    webdriver = pytest.importorskip("selenium.webdriver", reason=missing)
    from selenium.webdriver.remote.client_config import ClientConfig
    from selenium.webdriver.remote.remote_connection import RemoteConnection
    from selenium.webdriver.webkitgtk.options import Options

    # A window needs a display, even one nobody sees: WebKitGTK has no headless mode.
    xvfb, display = start_xvfb()
    port = free_port()
    service = subprocess.Popen(
        [DRIVER, f"--port={port}"],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=service)
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        # The driver's address in a ClientConfig: Selenium 4.2x deprecates giving it as a string.
        connection = RemoteConnection(client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}"))
        driver = webdriver.Remote(command_executor=connection, options=options)
        driver.set_script_timeout(30)
        yield WebKit(driver)
        driver.quit()
    finally:
        for process in (service, xvfb):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def keyed(webkit, tmp_path_factory):
    root = tmp_path_factory.mktemp("Films")
    make_film(root / "direct.mp4", SECONDS, audio="aac", seed=3)  # H.264 + AAC: played as it is
    # A TV recording: H.264 in MPEG-TS, which no <video src> here opens (canPlayType says "").
    make_film(root / "recording.ts", SECONDS, audio="aac", seed=6)
    server = start_in_process([root], tmp_path_factory.mktemp("home"))
    webkit.give_key(server)
    yield server
    server.stop()


def test_an_mp4_plays_as_it_is_with_the_cookie_and_seeks(webkit, keyed):
    playing = open_player(webkit, keyed, "direct.mp4")
    assert playing["kind"] == "direct", playing
    assert playing["src"].endswith(playing["source"]), playing  # the file itself, the key in the cookie
    # GStreamer's MP4 player here shows each picture its decode delay (2 frames of B-pyramid) after
    # the time the file gives it, sound and clock together: a constant the test holds it to.
    seek_and_watch(webkit, 37.7, shift=None)


def test_a_film_that_needs_converting_plays_and_seeks(webkit, keyed):
    playing = open_player(webkit, keyed, "recording.ts")
    if playing["kind"] == "direct":
        pytest.skip("this WebKitGTK says it plays MPEG-TS as it is: nothing to convert")
    if not playing["hlsJs"] and not playing["src"]:
        pytest.skip("this WebKitGTK has neither native HLS nor MediaSource (GStreamer plugins decide)")
    assert playing["kind"] == "remux", playing
    shift = hls_js_shift(keyed, playing["source"]) if playing["hlsJs"] else 0.0
    seek_and_watch(webkit, 43.1, shift)
