"""The native folder dialog, run in a child process of this same program.

A dialog toolkit (Tk here) wants the main thread of its process, and the tray already has ours; in a
child the two never fight, and the tray keeps answering while the dialog is open. The child is this
program run with `--pick-folder RESULT_FILE` (so it works inside a one-file build too); it writes the
chosen path into that file as raw bytes, and nothing on cancel. A file rather than stdout: a windowed
build on Windows may have no stdout at all, and bytes keep any folder name intact.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from desktop.launch import app_command

log = logging.getLogger(__name__)

PICK_ARGUMENT = "--pick-folder"
DIALOG_TITLE = "Add a folder to Couchcast"


class PickerError(Exception):
    """The dialog could not be shown; the message says why."""


def choose_folder() -> str | None:
    """Show the folder dialog (blocks this thread until it closes); the chosen folder, or None on cancel."""
    with tempfile.TemporaryDirectory(prefix="couchcast-") as scratch:
        result_file = Path(scratch) / "chosen-folder"
        try:
            result = subprocess.run(
                [*app_command(), PICK_ARGUMENT, str(result_file)], capture_output=True, check=False
            )
        except OSError as exc:
            raise PickerError(f"Could not start the folder dialog ({exc.strerror or exc}).") from exc
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
            log.error("Folder dialog failed (%s): %s", result.returncode, "\n".join(detail))
            raise PickerError(detail[-1] if detail else "The folder dialog failed.")
        chosen = os.fsdecode(result_file.read_bytes()) if result_file.exists() else ""
    return chosen or None


def run_dialog(result_file: str) -> int:
    """The child's side: show the dialog, write the chosen folder to `result_file`. Exit 0 on cancel too."""
    try:
        import tkinter
        from tkinter import filedialog
    except ImportError:
        print("The folder dialog needs Tk (on Debian: apt-get install python3-tk).", file=sys.stderr)
        return 2
    try:
        root = tkinter.Tk()
    except tkinter.TclError as exc:
        print(f"Cannot open the folder dialog: {exc}.", file=sys.stderr)
        return 2
    root.withdraw()
    chosen = filedialog.askdirectory(
        parent=root, title=DIALOG_TITLE, initialdir=str(Path.home()), mustexist=True
    )
    root.destroy()
    if chosen:
        Path(result_file).write_bytes(os.fsencode(chosen))
    return 0
