"""The real desktop app under Xvfb with trayer as tray host: it docks, opens the browser, adds a
folder through the native dialog, hands a second launch over to the first, and stops on SIGTERM.

One app process serves most of the module (starting it is the slow part); the tests run in file order.
The last test runs the app on pystray's xorg backend, the fallback with our two fixes.
"""

from __future__ import annotations

import http.cookiejar
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from desktop import picker
from tests.helpers import PROJECT_ROOT, make_video
from tests.xsession import WAIT_SECONDS, DesktopApp, launch_app, start_session

KEY = "gui-test-key-0123456789abcdef"
PICKED_FOLDER = "My Vidéos été"
STREAMED_SIZE = 512 * 1024 * 1024


@pytest.fixture(scope="module")
def app(x_session, tmp_path_factory) -> DesktopApp:
    desktop = launch_app(x_session, tmp_path_factory.mktemp("desktop-home"), KEY)
    yield desktop
    desktop.close()


def test_tray_icon_docks_in_the_tray_host(x_session, app):
    assert app.tray_icon_box() is not None, "no pixel changed in the tray area"
    assert "shows no tray icons" not in (app.home / "app-output.txt").read_text()


def test_browser_gets_a_library_link_that_answers_200(app):
    urls = app.wait_for_urls(1)
    assert urls, "the browser was not opened"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(urls[0], timeout=10) as response:  # the key redirect sets the cookie, then 200
        assert (response.status, response.url) == (200, f"http://127.0.0.1:{app.port}/")


def test_second_launch_opens_the_browser_again_without_a_second_server(x_session, app):
    opened_before = len(app.wait_for_urls(1))
    second = subprocess.run(
        [sys.executable, "-m", "desktop"], cwd=PROJECT_ROOT, env=app.env, capture_output=True, timeout=30
    )
    assert second.returncode == 0, second.stderr
    assert len(app.wait_for_urls(opened_before + 1)) == opened_before + 1
    # A second server would have found the port taken, moved to the next one and saved it.
    assert app.saved_config()["port"] == app.port
    assert app.process.poll() is None


def test_add_folder_dialog_shares_the_typed_folder_and_lists_its_videos(x_session, app, tmp_path):
    folder = tmp_path / PICKED_FOLDER
    make_video(folder / "Première partie.mp4", 2)
    app.open_tray_menu()
    x_session.xdotool("key", "Down", "Down", "Down", "Return")  # Open · Phone link · Add folder…

    x_session.choose_in_folder_dialog(folder)

    deadline = time.monotonic() + WAIT_SECONDS
    while str(folder) not in app.saved_config().get("folders", []) and time.monotonic() < deadline:
        time.sleep(0.1)
    if str(folder) not in app.saved_config().get("folders", []):
        (PROJECT_ROOT / "test-artifacts").mkdir(exist_ok=True)
        x_session.screenshot(PROJECT_ROOT / "test-artifacts" / "folder-dialog-failure.png")
    assert str(folder) in app.saved_config().get("folders", [])
    server = app.live_server()
    shared = json.loads(server.request("/api/folders").body)["folders"]
    ours = [f for f in shared if f["name"] == PICKED_FOLDER]
    assert ours, shared
    items = json.loads(server.request(f"/api/folders/{ours[0]['id']}/items?path=").body)["items"]
    assert [i["name"] for i in items] == ["Première partie.mp4"]


def test_cancelled_folder_dialog_chooses_nothing(x_session, monkeypatch):
    monkeypatch.setenv("DISPLAY", x_session.display)
    outcome = {}
    dialog = threading.Thread(target=lambda: outcome.update(chosen=picker.choose_folder()))
    dialog.start()
    window = x_session.xdotool("search", "--sync", "--onlyvisible", "--name", "Add a folder").split()[0]
    x_session.xdotool("windowfocus", "--sync", window)
    x_session.xdotool("key", "Escape")
    dialog.join(WAIT_SECONDS)
    assert outcome == {"chosen": None}


def test_sigterm_stops_the_app_with_exit_0_within_5_s(app):
    app.process.send_signal(signal.SIGTERM)
    assert app.process.wait(timeout=5) == 0


@pytest.fixture(scope="module")
def xorg_app(x_session, tmp_path_factory) -> DesktopApp:
    home = tmp_path_factory.mktemp("xorg-home")
    desktop = launch_app(x_session, home, KEY, "--background", PYSTRAY_BACKEND="xorg")
    yield desktop
    desktop.close()


def test_xorg_fallback_icon_docks_and_a_left_click_opens_the_library(x_session, xorg_app):
    x, y = xorg_app.tray_icon_center()  # docked: the tray area changed
    assert xorg_app.urls() == []  # started as at login: no browser yet
    x_session.xdotool("mousemove", str(x), str(y), "click", "1")
    urls = xorg_app.wait_for_urls(1)
    assert urls == [f"http://127.0.0.1:{xorg_app.port}/?key={KEY}"]


def test_sigterm_while_the_tray_is_still_starting_exits_0(x_session, tmp_path):
    starting = launch_app(x_session, tmp_path, KEY, "--background")  # returns as soon as the port opens
    try:
        starting.process.send_signal(signal.SIGTERM)
        assert starting.process.wait(timeout=5) == 0
    finally:
        starting.close()


def test_a_damaged_database_is_kept_aside_and_the_tray_says_so(x_session, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "couchcast.sqlite3").write_bytes(b"\x00not a database" * 4096)
    app = launch_app(x_session, tmp_path, KEY, "--background")
    try:
        log = tmp_path / "logs" / "couchcast.log"
        deadline = time.monotonic() + WAIT_SECONDS
        while "The library database was damaged" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "The library database was damaged" in log.read_text()  # what tray.tell() says, logged
        assert list((tmp_path / "data").glob("couchcast.sqlite3.corrupt-*"))
        assert app.live_server().request("/api/folders").status == 200
    finally:
        app.close()


def test_without_a_tray_host_it_says_the_icon_is_hidden_and_keeps_serving(tmp_path):
    session = start_session(with_tray=False)
    try:
        app = launch_app(session, tmp_path, KEY, "--background")
        try:
            output = tmp_path / "app-output.txt"
            deadline = time.monotonic() + WAIT_SECONDS
            while "shows no tray icons" not in output.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "shows no tray icons" in output.read_text()
            assert app.live_server().request("/api/folders").status == 200
        finally:
            app.close()
    finally:
        session.stop()


def test_quit_from_the_menu_ends_streams_and_exits_0_within_5_s(x_session, tmp_path):
    videos = tmp_path / "Videos"
    videos.mkdir()
    with open(videos / "big.mp4", "wb") as big:
        big.truncate(STREAMED_SIZE)  # far more than socket buffers hold: the stream is mid-way at Quit
    app = launch_app(x_session, tmp_path / "home", KEY, "--background", folders=(videos,))
    try:
        folder_id = json.loads(app.live_server().request("/api/folders").body)["folders"][0]["id"]
        with socket.create_connection(("127.0.0.1", app.port), timeout=10) as stream:
            request = (
                f"GET /media/{folder_id}/big.mp4 HTTP/1.1\r\nHost: t\r\nCookie: couchcast_key={KEY}\r\n\r\n"
            )
            stream.sendall(request.encode())
            received = len(stream.recv(65536))
            app.open_tray_menu()
            x_session.xdotool("key", "Up", "Return")  # Up from the top wraps to the last item: Quit
            assert app.process.wait(timeout=5) == 0
            while chunk := stream.recv(1 << 20):
                received += len(chunk)
        assert received < STREAMED_SIZE
    finally:
        app.close()
