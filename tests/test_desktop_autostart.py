"""Start at login: the Linux XDG entry for real, and what the macOS and Windows writers would write."""

from __future__ import annotations

import plistlib
import shlex
import subprocess
import sys

from desktop import autostart
from tests.helpers import PROJECT_ROOT


def test_linux_entry_is_written_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert not autostart.is_enabled()
    autostart.enable()
    assert (tmp_path / "autostart" / "couchcast.desktop").is_file()
    assert autostart.is_enabled()
    autostart.disable()
    assert not (tmp_path / "autostart" / "couchcast.desktop").exists()
    assert not autostart.is_enabled()


def test_linux_entry_runs_this_couchcast_in_the_background(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    autostart.enable()
    entry = (tmp_path / "autostart" / "couchcast.desktop").read_text(encoding="utf-8")
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))[len("Exec=") :]
    command = shlex.split(exec_line)
    assert command[-1] == "--background"
    # The entry's own command line starts this Couchcast (asked for its help, so nothing else runs).
    result = subprocess.run([*command, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "couchcast" in result.stdout


def test_desktop_entry_quotes_a_path_with_spaces_and_dollars():
    entry = autostart.xdg_desktop_entry(["/opt/My Apps/Couch$cast", "--background"])
    assert 'Exec="/opt/My Apps/Couch\\$cast" --background\n' in entry


def test_macos_launch_agent_runs_the_app_at_login():
    app = "/Applications/Couchcast.app/Contents/MacOS/Couchcast"
    plist = plistlib.loads(autostart.launch_agent_plist([app, "--background"]))
    assert plist["Label"] == autostart.MACOS_LABEL
    assert plist["ProgramArguments"] == [app, "--background"]
    assert plist["RunAtLoad"] is True


def test_windows_run_value_quotes_an_executable_path_with_spaces():
    value = autostart.windows_run_value([r"C:\Program Files\Couchcast\Couchcast.exe", "--background"])
    assert value == r'"C:\Program Files\Couchcast\Couchcast.exe" --background'


def test_login_command_starts_this_program_without_the_browser():
    assert autostart.login_command() == [sys.executable, "-m", "desktop", "--background"]


def test_winreg_is_not_needed_off_windows():
    probe = "import desktop.autostart, sys; print('winreg' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False"
