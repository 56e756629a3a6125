"""A real X session for tray tests: Xvfb on a free display, a session D-Bus, and trayer as tray host."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops

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


def start_session() -> XSession:
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
