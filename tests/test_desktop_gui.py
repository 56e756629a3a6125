"""The real desktop app under Xvfb with trayer as tray host: it docks, opens the browser, adds a
folder through the native dialog, hands a second launch over to the first, and stops on SIGTERM.

One app process serves the whole module (starting it is the slow part); the tests run in file order.
"""

from __future__ import annotations

import http.cookiejar
import json
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, LiveServer, free_port, make_video, wait_for_port
from tests.xsession import TRAY_AREA, XSession, changed_box, start_session

KEY = "gui-test-key-0123456789abcdef"
WAIT = 20.0
PICKED_FOLDER = "My Vidéos été"


@dataclass
class DesktopApp:
    process: subprocess.Popen
    home: Path
    port: int
    urls_file: Path
    tray_before: object

    def urls(self) -> list[str]:
        return self.urls_file.read_text().splitlines() if self.urls_file.exists() else []

    def wait_for_urls(self, count: int) -> list[str]:
        deadline = time.monotonic() + WAIT
        while len(self.urls()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.urls()

    def saved_config(self) -> dict:
        return json.loads((self.home / "config" / "config.json").read_text(encoding="utf-8"))

    def server(self) -> LiveServer:
        return LiveServer(self.process, self.port, KEY, self.home)


@pytest.fixture(scope="module")
def x_session() -> XSession:
    session = start_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def app(x_session, tmp_path_factory) -> DesktopApp:
    home = tmp_path_factory.mktemp("desktop-home")
    port = free_port()
    (home / "config").mkdir()
    (home / "config" / "config.json").write_text(json.dumps({"port": port, "access_key": KEY}))
    urls_file = home / "browser-urls.txt"
    browser = home / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{urls_file}"\n')
    browser.chmod(0o755)
    before = x_session.screenshot(home / "before.png", TRAY_AREA)
    env = {**x_session.env, "COUCHCAST_HOME": str(home), "BROWSER": str(browser)}
    with open(home / "app-output.txt", "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "desktop"], cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output
        )
    desktop = DesktopApp(process, home, port, urls_file, before)
    try:
        wait_for_port(port, timeout=WAIT, process=process)
        yield desktop
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        print((home / "app-output.txt").read_text(errors="replace"))


def tray_icon_box(x_session: XSession, app: DesktopApp) -> tuple[int, int, int, int] | None:
    deadline = time.monotonic() + WAIT
    while True:
        box = changed_box(app.tray_before, x_session.screenshot(app.home / "tray.png", TRAY_AREA))
        if box or time.monotonic() > deadline:
            return box
        time.sleep(0.2)


def test_tray_icon_docks_in_the_tray_host(x_session, app):
    assert tray_icon_box(x_session, app) is not None, "no pixel changed in the tray area"


def test_browser_gets_a_library_link_that_answers_200(app):
    urls = app.wait_for_urls(1)
    assert urls, "the browser was not opened"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(urls[0], timeout=10) as response:  # the key redirect sets the cookie, then 200
        assert (response.status, response.url) == (200, f"http://127.0.0.1:{app.port}/")


def test_second_launch_opens_the_browser_again_without_a_second_server(x_session, app):
    opened_before = len(app.wait_for_urls(1))
    env = {**x_session.env, "COUCHCAST_HOME": str(app.home), "BROWSER": str(app.home / "browser.sh")}
    second = subprocess.run(
        [sys.executable, "-m", "desktop"], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=30
    )
    assert second.returncode == 0, second.stderr
    assert len(app.wait_for_urls(opened_before + 1)) == opened_before + 1
    # A second server would have found the port taken, moved to the next one and saved it.
    assert app.saved_config()["port"] == app.port
    assert app.process.poll() is None


def test_add_folder_dialog_shares_the_typed_folder_and_lists_its_videos(x_session, app, tmp_path):
    folder = tmp_path / PICKED_FOLDER
    make_video(folder / "Première partie.mp4", 2)
    left, top, right, bottom = tray_icon_box(x_session, app)
    x, y = TRAY_AREA[0] + (left + right) // 2, TRAY_AREA[1] + (top + bottom) // 2
    x_session.xdotool("mousemove", str(x), str(y), "click", "3")
    time.sleep(0.5)  # the menu maps asynchronously; keys before that go nowhere
    x_session.xdotool("key", "Down", "Down", "Down", "Return")  # Open · Phone link · Add folder…

    window = x_session.xdotool("search", "--sync", "--onlyvisible", "--name", "Add a folder").split()[0]
    x_session.xdotool("windowfocus", "--sync", window)
    x_session.xdotool("key", "ctrl+slash")
    x_session.xdotool("type", "--delay", "10", str(folder))
    x_session.xdotool("key", "Return")  # enters the folder
    time.sleep(0.3)
    x_session.xdotool("key", "Return")  # accepts it

    deadline = time.monotonic() + WAIT
    while str(folder) not in app.saved_config().get("folders", []) and time.monotonic() < deadline:
        time.sleep(0.1)
    if str(folder) not in app.saved_config().get("folders", []):
        (PROJECT_ROOT / "test-artifacts").mkdir(exist_ok=True)
        x_session.screenshot(PROJECT_ROOT / "test-artifacts" / "folder-dialog-failure.png")
    assert str(folder) in app.saved_config().get("folders", [])
    server = app.server()
    shared = json.loads(server.request("/api/folders").body)["folders"]
    ours = [f for f in shared if f["name"] == PICKED_FOLDER]
    assert ours, shared
    items = json.loads(server.request(f"/api/folders/{ours[0]['id']}/items?path=").body)["items"]
    assert [i["name"] for i in items] == ["Première partie.mp4"]


def test_sigterm_stops_the_app_with_exit_0_within_5_s(app):
    app.process.send_signal(signal.SIGTERM)
    assert app.process.wait(timeout=5) == 0
