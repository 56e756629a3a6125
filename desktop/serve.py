"""`couchcast serve`: the library headless. Shares, prints the links and a QR code, serves until
SIGINT or SIGTERM."""

from __future__ import annotations

import logging

from desktop import logs
from desktop.console import print_phone_link, say
from desktop.startup import catch_stop_signals, start_server, wait_for_stop_signal
from server import network, runner

LOCAL_ONLY = ("127.0.0.1", "localhost", "::1")


def serve(
    *,
    folders: tuple[str, ...] = (),
    host: str = "0.0.0.0",
    port: int | None = None,
    access_key: str | None = None,
    early_log: logging.Handler | None = None,
) -> int:
    """Serve until stopped; the exit status. Logs go to the file from the first line (`early_log`, set
    up here unless the tray app already did): without a handler, warnings would reach stderr."""
    early_log = early_log or logs.setup_early_logging()
    stop_signals = catch_stop_signals()  # before the port opens: a SIGTERM from then on stops cleanly
    try:
        started = start_server(host=host, port=port, folders_this_run=folders, access_key=access_key)
    except runner.PortInUse as exc:
        say(f"{exc} Choose another with --port, or stop the other program.", error=True)
        return 1
    except OSError as exc:
        say(f"Could not listen on {host}:{port}: {exc.strerror or exc}", error=True)
        return 1
    except ValueError:  # waitress's word for a host name it cannot use
        say(f"Could not listen on {host}: not an address of this computer.", error=True)
        return 1
    logs.retire_early_logging(early_log)  # Django's logging writes the same file from here on
    server = started.server
    for problem in started.problems:
        say(problem, error=True)
    for note in started.notes:
        say(note)

    shares = server.runtime.shares.shared()
    available = [s for s in shares if s.available]
    for share in shares:
        if not share.available:
            say(f"Not shared: {share.problem}", error=True)
    if available:
        say(f"Sharing {len(available)} folder(s): " + ", ".join(s.path for s in available))
    else:
        say("No folders are shared yet: name one, as in `couchcast serve ~/Videos`.")
    key = server.runtime.access_key
    say(f"Local:  {network.link(server.local_host, server.port, key)}")
    if host in LOCAL_ONLY:
        say("Listening on this computer only: phones cannot reach it (use --host 0.0.0.0).")
    else:
        print_phone_link(network.phone_url(server.port, key, host))
    say(f"Logs:   {started.dirs.logs}")
    say("Press Ctrl+C to stop.")

    wait_for_stop_signal(server, stop_signals)
    say("Stopping…")
    server.stop()
    return 0
