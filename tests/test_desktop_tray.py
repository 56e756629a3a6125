"""Every tray menu action, through pystray's own Menu/MenuItem API on its dummy backend, against a real
server started in this process through `server.runner` (the way the app starts it)."""

from __future__ import annotations

import http.cookiejar
import importlib
import json
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import make_video

KEY = "tray-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def pystray():
    """pystray on its dummy backend; pystray reads PYSTRAY_BACKEND once, at import."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSTRAY_BACKEND", "dummy")
        for name in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
            patch.delitem(sys.modules, name)
        yield importlib.import_module("pystray")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("tray-home")
        patch.setenv("COUCHCAST_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def server(home):
    from server import runner
    from tests.inprocess import home_dirs

    handle = runner.start("127.0.0.1", 0, access_key=KEY, dirs=home_dirs(home))
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def login_entries(tmp_path, monkeypatch):
    """The XDG autostart dir of this test (the real spec variable, not the user's own ~/.config)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return tmp_path / "xdg-config" / "autostart"


class Recorder:
    """What the tray asked the desktop to do: open URLs, open folders; and which folder to 'pick'."""

    def __init__(self):
        self.urls: list[str] = []
        self.opened_folders: list[str] = []
        self.pick: str | None = None

    def choose_folder(self) -> str | None:
        return self.pick


@pytest.fixture
def tray(pystray, server):
    from desktop.tray import Tray

    class RecordingIcon(pystray.Icon):
        """The dummy backend draws nothing; count menu rebuilds and keep notifications instead."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.menu_rebuilds = 0
            self.notices: list[str] = []
            self.stopped = False

        def _update_menu(self):
            self.menu_rebuilds += 1

        def _notify(self, message, title=None):
            self.notices.append(message)

        def stop(self):
            self.stopped = True

    recorder = Recorder()
    tray = Tray(
        pystray,
        server,
        icon_type=RecordingIcon,
        open_url=recorder.urls.append,
        open_folder=recorder.opened_folders.append,
        choose_folder=recorder.choose_folder,
    )
    tray.recorder = recorder
    return tray


def item(menu, text: str):
    return next(i for i in menu.items if i.text == text)


def click(tray, *path: str) -> None:
    """Run a menu item as a click does: `item(icon)` runs its action."""
    menu = tray.icon.menu
    for text in path[:-1]:
        menu = item(menu, text).submenu
    item(menu, path[-1])(tray.icon)


def saved_folders(home: Path) -> list[str]:
    return json.loads((home / "config" / "config.json").read_text(encoding="utf-8"))["folders"]


def shared_folder_names(tray) -> list[str]:
    return [i.text for i in item(tray.icon.menu, "Shared folders").submenu.items]


def get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(url, timeout=10) as response:
        return response.status


def add_through_dialog(tray, folder: Path | None) -> None:
    tray.recorder.pick = str(folder) if folder else None
    click(tray, "Add folder…")
    tray.picker_thread.join(10)


def test_menu_has_the_items_of_the_spec_in_order(tray):
    texts = [i.text for i in tray.icon.menu.items if i is not tray.icon.menu.SEPARATOR]
    expected = ["Open Couchcast", "Phone link", "Add folder…", "Shared folders", "Start at login", "Quit"]
    assert texts == expected


def test_shared_folders_menu_says_when_there_are_none(tray):
    # Runs before the tests below share folders in this module's server.
    assert shared_folder_names(tray) == ["No folders yet"]
    assert item(item(tray.icon.menu, "Shared folders").submenu, "No folders yet").enabled is False


def test_open_couchcast_opens_the_library_with_a_key_link_that_answers(tray, server):
    click(tray, "Open Couchcast")
    assert tray.recorder.urls == [f"http://127.0.0.1:{server.port}/?key={KEY}"]
    assert get(tray.recorder.urls[0]) == 200


def test_phone_link_opens_the_pairing_page(tray, server):
    click(tray, "Phone link")
    assert tray.recorder.urls == [f"http://127.0.0.1:{server.port}/pair?key={KEY}"]
    assert get(tray.recorder.urls[0]) == 200


def test_tooltip_shows_the_phone_address_without_the_key(tray, server):
    assert tray.icon.title.endswith(f":{server.port}/")
    assert KEY not in tray.icon.title


def test_added_folder_is_saved_listed_and_in_the_menu_at_once(tray, tmp_path, home, server):
    folder = tmp_path / "Films d'été"
    make_video(folder / "clip.mp4", 1)
    rebuilds = tray.icon.menu_rebuilds
    add_through_dialog(tray, folder)
    assert str(folder) in saved_folders(home)
    assert "Films d'été" in shared_folder_names(tray)
    assert tray.icon.menu_rebuilds > rebuilds


def test_cancelled_folder_dialog_changes_nothing(tray, home):
    before = (home / "config" / "config.json").read_bytes()
    names = shared_folder_names(tray)
    add_through_dialog(tray, None)
    assert (home / "config" / "config.json").read_bytes() == before
    assert shared_folder_names(tray) == names


def test_folder_that_cannot_be_shared_is_explained_and_not_saved(tray, tmp_path, home):
    missing = tmp_path / "unplugged drive"
    add_through_dialog(tray, missing)
    assert str(missing) not in saved_folders(home)
    assert any("does not exist" in notice for notice in tray.icon.notices)


def test_open_in_file_manager_opens_that_folder(tray, tmp_path):
    folder = tmp_path / "Cartoons"
    folder.mkdir()
    add_through_dialog(tray, folder)
    click(tray, "Shared folders", "Cartoons", "Open in file manager")
    assert tray.recorder.opened_folders == [str(folder)]


def test_remove_unshares_and_forgets_the_folder_but_keeps_its_files(tray, tmp_path, home):
    folder = tmp_path / "Old stuff"
    make_video(folder / "old.mp4", 1)
    add_through_dialog(tray, folder)
    click(tray, "Shared folders", "Old stuff", "Remove")
    assert str(folder) not in saved_folders(home)
    assert "Old stuff" not in shared_folder_names(tray)
    assert (folder / "old.mp4").exists()


def test_start_at_login_writes_the_entry_and_the_config(tray, home, login_entries):
    assert item(tray.icon.menu, "Start at login").checked is False
    click(tray, "Start at login")
    assert (login_entries / "couchcast.desktop").exists()
    assert item(tray.icon.menu, "Start at login").checked is True
    assert json.loads((home / "config" / "config.json").read_text())["start_at_login"] is True


def test_start_at_login_unchecked_removes_the_entry_and_updates_the_config(tray, home, login_entries):
    click(tray, "Start at login")
    click(tray, "Start at login")
    assert not (login_entries / "couchcast.desktop").exists()
    assert item(tray.icon.menu, "Start at login").checked is False
    assert json.loads((home / "config" / "config.json").read_text())["start_at_login"] is False


def test_quit_stops_the_tray_loop(tray):
    click(tray, "Quit")
    assert tray.quitting and tray.icon.stopped
