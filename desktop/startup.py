"""The one start-up path of the desktop app and of `couchcast serve`: config, then a server.

Both read the config file once, take the environment's tunables once (`RuntimeOptions`), and start
the server on the asked port, or on the saved one or the next free one (saved for next time).
What went wrong and was mended on the way (a damaged config, a damaged database) is returned for
the caller to say once, in its own way (a terminal line, a tray notification).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

from server import config, runner
from server.dirs import UserDirs, user_dirs

PORT_ATTEMPTS = 20


@dataclass
class Started:
    server: runner.ServerHandle
    dirs: UserDirs
    # In words for the person: problems (stderr, notifications) and notes (stdout, the log).
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def start_server(
    *,
    host: str,
    port: int | None = None,
    folders_this_run: tuple[str, ...] = (),
    access_key: str | None = None,
    dlna: bool | None = None,
) -> Started:
    """Load the config and start a server with it. Raises runner.PortInUse, OSError, ValueError.

    `dlna` None follows the saved setting; a DLNA that cannot start is a problem, not a failure.
    """
    from server.options import RuntimeOptions

    dirs = user_dirs()
    loaded = config.ConfigFile(config.config_path(dirs)).load()
    notes: list[str] = []
    problems = list(loaded.problems)

    def start_on(candidate: int) -> runner.ServerHandle:
        return runner.start(
            host,
            candidate,
            access_key=access_key or loaded.config.access_key,
            dirs=dirs,
            saved_folders=loaded.config.folders,
            folders_this_run=folders_this_run,
            options=RuntimeOptions.from_environ(),
        )

    if port is not None:
        handle = start_on(port)
    else:
        handle = _first_free(start_on, loaded.config.port)
        if handle.port != loaded.config.port:
            notes.append(f"Port {loaded.config.port} is taken; using {handle.port} (saved for next time).")
            try:
                # Through the runtime's own ConfigFile: one lock for every later change to the file.
                handle.runtime.config_file.update(port=handle.port)
            except config.ConfigError as exc:
                problems.append(str(exc))
    problems += handle.problems
    if loaded.config.dlna if dlna is None else dlna:
        problem = handle.set_dlna(True)
        if problem:
            problems.append(problem)
        else:
            name = handle.runtime.dlna.friendly_name
            if handle.host.startswith("127.") or handle.host in ("localhost", "::1"):
                notes.append(f'DLNA:   on as "{name}", but on this computer only: TVs cannot reach it.')
            else:
                notes.append(f'DLNA:   TVs on the home network see "{name}".')
    return Started(handle, dirs, problems, notes)


def _first_free(start_on, saved_port: int) -> runner.ServerHandle:
    last_error: runner.PortInUse | None = None
    for candidate in range(saved_port, min(saved_port + PORT_ATTEMPTS, 65536)):
        try:
            return start_on(candidate)
        except runner.PortInUse as exc:
            last_error = exc
    raise last_error or runner.PortInUse(f"No free port from {saved_port}.")


def catch_stop_signals() -> list[int]:
    """Record SIGINT and SIGTERM in the returned list instead of dying on them.

    The handlers only record: calling into threading primitives from a signal handler while the
    main thread waits on them deadlocked here (docs/design.md, "Desktop facts").
    """
    stop_signals: list[int] = []

    def request_stop(signum, frame):
        stop_signals.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop_signals


def wait_for_stop_signal(server: runner.ServerHandle, stop_signals: list[int]) -> None:
    """Block until SIGINT or SIGTERM was caught (or the server dies)."""
    while not stop_signals and server.is_running():
        time.sleep(0.2)
