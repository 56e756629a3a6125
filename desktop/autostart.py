"""Start at login: an XDG autostart entry (Linux), a LaunchAgent (macOS), an HKCU Run value (Windows).

The entry itself is the truth (a person may delete it by hand), so `is_enabled()` looks at the system,
not at the config. Each platform's text or value is built by a plain function, so the ones that cannot
run here are still tested for what they would write.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import subprocess
import sys
from pathlib import Path

from desktop.launch import app_command
from server.atomic import write_atomically

APP_ID = "couchcast"
MACOS_LABEL = "app.couchcast.Couchcast"
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
WINDOWS_VALUE_NAME = "Couchcast"
# Started at login: the tray only, no browser window popping up.
BACKGROUND_ARGUMENT = "--background"


def login_command() -> list[str]:
    return [*app_command(), BACKGROUND_ARGUMENT]


# Linux -------------------------------------------------------------------------------------------


def xdg_autostart_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "autostart" / f"{APP_ID}.desktop"


def _desktop_exec_quote(argument: str) -> str:
    """Quote one argument for a .desktop Exec line (Desktop Entry Specification, "The Exec key")."""
    if argument and not any(c in argument for c in " \t\n\"'\\><~|&;$*?#()`="):
        return argument
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return f'"{escaped}"'


def xdg_desktop_entry(command: list[str]) -> str:
    exec_line = " ".join(_desktop_exec_quote(a) for a in command).replace("%", "%%")
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Couchcast\n"
        "Comment=Share your videos with the phones in the house\n"
        f"Exec={exec_line}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


# macOS -------------------------------------------------------------------------------------------


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{MACOS_LABEL}.plist"


def launch_agent_plist(command: list[str]) -> bytes:
    return plistlib.dumps(
        {
            "Label": MACOS_LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
    )


# Windows -----------------------------------------------------------------------------------------


def windows_run_value(command: list[str]) -> str:
    """The Run value: one command line, quoted the way Windows parses it."""
    return subprocess.list2cmdline(command)


def _windows_set(value: str | None) -> None:
    import winreg  # Windows only

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if value is None:
            with contextlib.suppress(FileNotFoundError):
                winreg.DeleteValue(key, WINDOWS_VALUE_NAME)
        else:
            winreg.SetValueEx(key, WINDOWS_VALUE_NAME, 0, winreg.REG_SZ, value)


def _windows_get() -> str | None:
    import winreg  # Windows only

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:
            return winreg.QueryValueEx(key, WINDOWS_VALUE_NAME)[0]
    except FileNotFoundError:
        return None


# This platform -----------------------------------------------------------------------------------


def is_enabled() -> bool:
    if sys.platform == "win32":
        return _windows_get() is not None
    if sys.platform == "darwin":
        return launch_agent_path().exists()
    return xdg_autostart_path().exists()


def enable() -> None:
    """Start Couchcast (tray only) at login. Raises OSError when the entry cannot be written."""
    command = login_command()
    if sys.platform == "win32":
        _windows_set(windows_run_value(command))
        return
    path, content = (
        (launch_agent_path(), launch_agent_plist(command))
        if sys.platform == "darwin"
        else (xdg_autostart_path(), xdg_desktop_entry(command).encode("utf-8"))
    )
    write_atomically(path, content)


def disable() -> None:
    if sys.platform == "win32":
        _windows_set(None)
        return
    path = launch_agent_path() if sys.platform == "darwin" else xdg_autostart_path()
    path.unlink(missing_ok=True)
