"""Entry point of the one-file executable (build.spec): `Couchcast [serve ...]` is `couchcast [serve ...]`.

Inside a one-file build there is no separate script to start, so a helper process (the folder picker)
is this same executable run with an internal argument; every argument reaches `desktop.cli.main` as given.
"""

from __future__ import annotations

import os
import sys

from desktop.cli import main

if __name__ == "__main__":
    # A windowed Windows build has no console: sys.stdout and sys.stderr are None there, and code that
    # writes to them directly (segno's terminal QR code) would end the program with an error box.
    for stream_name in ("stdout", "stderr"):
        if getattr(sys, stream_name) is None:
            setattr(sys, stream_name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    raise SystemExit(main())
