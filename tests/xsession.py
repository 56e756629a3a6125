"""A real X session for tray tests: Xvfb on a free display, a session D-Bus, and trayer as tray host."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops

from tests.helpers import PROJECT_ROOT, LiveServer, free_port, wait_for_port

SCREEN = (800, 600)
TRAY_HEIGHT = 32
# trayer sits at the top right; icons dock there.
TRAY_AREA = (SCREEN[0] - 240, 0, SCREEN[0], TRAY_HEIGHT)


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on the first free display; `-displayfd` writes the number (then a newline) to our pipe."""
    read_end, write_end = os.pipe()
    screen = f"{SCREEN[0]}x{SCREEN[1]}x24"
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read_end, 16) if ready else b""
        if not chunk:
            process.kill()
            raise RuntimeError("Xvfb did not report a display number")
        number += chunk
    os.close(read_end)
    return process, f":{number.decode().strip()}"


def tray_owner(display_name: str) -> int:
    """The window owning the system tray selection on screen 0 (0 when nobody does)."""
    import Xlib.display

    display = Xlib.display.Display(display_name)
    try:
        owner = display.get_selection_owner(display.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return 0 if owner == 0 else owner.id
    finally:
        display.close()


@dataclass
class XSession:
    display: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    bus_pid: int | None = None

    def screenshot(self, path: Path, area: tuple[int, int, int, int] | None = None) -> Image.Image:
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)], check=True)
        image = Image.open(path).convert("RGB")
        return image.crop(area) if area else image

    def xdotool(self, *arguments: str) -> str:
        return subprocess.run(
            ["xdotool", *arguments], env=self.env, check=True, capture_output=True, text=True, timeout=30
        ).stdout

    def choose_in_folder_dialog(self, folder: Path) -> None:
        """Type `folder` into the open "Add a folder" dialog and accept it, with the keyboard."""
        window = self.xdotool("search", "--sync", "--onlyvisible", "--name", "Add a folder").split()[0]
        self.xdotool("windowfocus", "--sync", window)
        self.xdotool("key", "ctrl+slash")
        self.xdotool("type", "--delay", "10", str(folder))
        self.xdotool("key", "Return")  # enters the folder
        time.sleep(0.3)
        self.xdotool("key", "Return")  # accepts it

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.bus_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.bus_pid, signal.SIGTERM)


def start_session(with_tray: bool = True) -> XSession:
    xvfb, display = start_xvfb()
    session = XSession(display, {}, [xvfb])
    try:
        bus = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        session.bus_pid = int(bus[1])
        session.env = {
            **os.environ,
            "DISPLAY": display,
            "DBUS_SESSION_BUS_ADDRESS": bus[0],
            "NO_AT_BRIDGE": "1",  # no accessibility bus daemons left behind by GTK
        }
        session.env.pop("WAYLAND_DISPLAY", None)
        session.env.pop("PYSTRAY_BACKEND", None)
        if not with_tray:
            return session
        trayer = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
             "--height", str(TRAY_HEIGHT), "--transparent", "false", "--tint", "0x335588"],
            env=session.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        session.processes.append(trayer)
        deadline = time.monotonic() + 20
        while not tray_owner(display):
            if time.monotonic() > deadline or trayer.poll() is not None:
                raise RuntimeError("trayer did not take the system tray selection")
            time.sleep(0.1)
    except Exception:
        session.stop()
        raise
    return session


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels that differ, or None when the two images are the same."""
    return ImageChops.difference(before, after).getbbox()


WAIT_SECONDS = 20.0


@dataclass
class DesktopApp:
    """`couchcast` (the tray app) running in an X session, its browser replaced by a recording script."""

    process: subprocess.Popen
    session: XSession
    home: Path
    port: int
    key: str
    env: dict[str, str]
    tray_before: Image.Image

    @property
    def urls_file(self) -> Path:
        return self.home / "browser-urls.txt"

    def urls(self) -> list[str]:
        return self.urls_file.read_text().splitlines() if self.urls_file.exists() else []

    def wait_for_urls(self, count: int) -> list[str]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.urls()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.urls()

    def saved_config(self) -> dict:
        return json.loads((self.home / "config" / "config.json").read_text(encoding="utf-8"))

    def live_server(self) -> LiveServer:
        return LiveServer(self.process, self.port, self.key, self.home)

    def tray_icon_box(self) -> tuple[int, int, int, int] | None:
        """Where the tray area changed since before the launch (the docked icon), once it has."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            box = changed_box(self.tray_before, self.session.screenshot(self.home / "tray.png", TRAY_AREA))
            if box or time.monotonic() > deadline:
                return box
            time.sleep(0.2)

    def tray_icon_center(self) -> tuple[int, int]:
        left, top, right, bottom = self.tray_icon_box()
        return TRAY_AREA[0] + (left + right) // 2, TRAY_AREA[1] + (top + bottom) // 2

    def open_tray_menu(self) -> None:
        """Right-click the icon until its menu shows (a click just after docking can go unanswered)."""
        x, y = self.tray_icon_center()
        below_tray = (SCREEN[0] - 400, TRAY_HEIGHT, SCREEN[0], 300)
        closed = self.session.screenshot(self.home / "no-menu.png", below_tray)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            self.session.xdotool("mousemove", str(x), str(y), "click", "3")
            time.sleep(0.5)
            if changed_box(closed, self.session.screenshot(self.home / "menu.png", below_tray)):
                return
        raise AssertionError("the tray menu did not open")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        print((self.home / "app-output.txt").read_text(errors="replace"))


def launch_app(
    session: XSession,
    home: Path,
    key: str,
    *arguments: str,
    folders: tuple[Path, ...] = (),
    command: tuple[str, ...] = (sys.executable, "-m", "desktop"),
    **env_changes: str,
) -> DesktopApp:
    """Start `python -m desktop` (or `command`: the built executable) with a fresh home and a free port;
    returns once its server listens."""
    port = free_port()
    (home / "config").mkdir(parents=True)
    config = {"port": port, "access_key": key, "folders": [str(f) for f in folders]}
    (home / "config" / "config.json").write_text(json.dumps(config))
    browser = home / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{home / "browser-urls.txt"}"\n')
    browser.chmod(0o755)
    before = session.screenshot(home / "before.png", TRAY_AREA)
    env = {**session.env, "COUCHCAST_HOME": str(home), "BROWSER": str(browser), **env_changes}
    with open(home / "app-output.txt", "wb") as output:
        process = subprocess.Popen(
            [*command, *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    app = DesktopApp(process, session, home, port, key, env, before)
    try:
        wait_for_port(port, timeout=WAIT_SECONDS, process=process)
    except Exception:
        app.close()
        raise
    return app
