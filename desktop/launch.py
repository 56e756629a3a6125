"""How to start this same program again: from source, from the installed script, or frozen.

A one-file PyInstaller build has no separate .py files to run, so helpers (the folder picker) and the
login entry run the same executable with an argument (docs/design.md, "Desktop facts").
"""

from __future__ import annotations

import sys


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def app_command() -> list[str]:
    """The command that starts Couchcast: the executable, the `couchcast` script, or `python -m desktop`."""
    if is_frozen():
        return [sys.executable]
    return [sys.executable, "-m", "desktop"]
