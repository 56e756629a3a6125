"""Open a folder in the system's file manager (Explorer, Finder, or whatever xdg-open picks)."""

from __future__ import annotations

import os
import subprocess
import sys


def open_folder(path: str) -> None:
    """Show the folder in the file manager; raises OSError when no file manager can be started."""
    if sys.platform == "win32":
        os.startfile(path)  # Explorer opens folders
    elif sys.platform == "darwin":
        subprocess.Popen(["open", path])
    else:
        subprocess.Popen(["xdg-open", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
