"""The tunable parts of a server, read once from the environment by whoever builds it.

Tests and power users set them by environment variable; nothing else in the server reads the
environment (but `COUCHCAST_HOME` in `server.dirs` and `COUCHCAST_FFMPEG` in `server.ffmpeg`, which
say where things are on this computer, not how a server behaves).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# How often a share without notifications is read whole, and how often the list of shared folders is
# looked at (a folder added or removed at run time is watched or dropped within this time).
INTERVAL = 3.0
# The safety rescan of a watched share. A whole read of 50,000 files cost ~0.5 s of CPU on a 2-core
# machine (17% of a core when done every 3 s), so every 10 minutes is ~0.1% of a core, and a change a
# notification missed still shows within minutes.
RESCAN_INTERVAL = 600.0
# A file whose description failed for a reason outside it (a full disk, a database that cannot be
# written) waits this long before the next try, instead of running ffmpeg again at once, in a loop.
RETRY_AFTER = 60.0


@dataclass(frozen=True)
class RuntimeOptions:
    """The tunable parts of a server, read once (tests and power users set them by environment)."""

    scan_interval: float = INTERVAL
    rescan_interval: float = RESCAN_INTERVAL
    watch: bool = True
    describe_retry: float = RETRY_AFTER
    conversion_cores: float | None = None  # None: every core
    sendfile: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> RuntimeOptions:
        """COUCHCAST_SCAN_INTERVAL, COUCHCAST_RESCAN_INTERVAL, COUCHCAST_WATCH=0,
        COUCHCAST_DESCRIBE_RETRY, COUCHCAST_CONVERSION_CORES, COUCHCAST_SENDFILE=0."""
        return cls(
            scan_interval=float(environ.get("COUCHCAST_SCAN_INTERVAL") or INTERVAL),
            rescan_interval=float(environ.get("COUCHCAST_RESCAN_INTERVAL") or RESCAN_INTERVAL),
            watch=environ.get("COUCHCAST_WATCH", "1") != "0",
            describe_retry=float(environ.get("COUCHCAST_DESCRIBE_RETRY") or RETRY_AFTER),
            conversion_cores=float(environ.get("COUCHCAST_CONVERSION_CORES") or 0) or None,
            sendfile=environ.get("COUCHCAST_SENDFILE", "1") != "0",
        )
