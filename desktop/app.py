"""`couchcast` with no command: the desktop app a person double-clicks.

Start-up order: log file, single-instance lock (a second launch hands over and leaves), tray backend
(no display: say so and serve headless), config and server, then the tray on the main thread, as
macOS requires. Quit, SIGTERM and SIGINT all end the same way: the tray loop returns, the server
stops (streams end), the process exits 0.
"""

from __future__ import annotations

import logging
import threading
import time

from desktop import instance, logs, tray_backend
from desktop.console import say
from desktop.serve import serve
from desktop.startup import catch_stop_signals, start_server
from desktop.tray import Tray
from server import runner
from server.dirs import user_dirs

log = logging.getLogger(__name__)

SIGNAL_POLL = 0.2


def run(open_browser: bool = True) -> int:
    early_log = logs.setup_early_logging()
    data_dir = user_dirs().data
    single = instance.SingleInstance(data_dir)
    if not single.acquire():
        if not open_browser:  # started at login while already running: nothing to show
            say("Couchcast is already running.")
            return 0
        if instance.ask_running_to_open(data_dir):
            say("Couchcast is already running; it opens the library in your browser.")
            return 0
        say(
            "Couchcast seems to be running already but does not answer. Quit it (or end it in the task "
            f"manager) and start again. Details: {logs.log_path()}",
            error=True,
        )
        return 1
    try:
        try:
            pystray = tray_backend.load_pystray()
        except tray_backend.NoTray as exc:
            log.warning("%s", exc)
            say(f"{exc} Running without a tray icon, as `couchcast serve`.", error=True)
            single.listen(lambda: log.info("A second launch asked for the browser; there is no display."))
            return serve(early_log=early_log)
        return _run_tray(pystray, single, early_log, open_browser)
    finally:
        single.release()


def _run_tray(pystray, single: instance.SingleInstance, early_log, open_browser: bool) -> int:
    stop_signals = catch_stop_signals()  # before the port opens: a SIGTERM from then on stops cleanly
    try:
        started = start_server(host="0.0.0.0")
    except (runner.PortInUse, OSError) as exc:
        log.error("Server did not start: %s", exc)
        say(f"Couchcast could not start its server: {exc}", error=True)
        return 1
    logs.retire_early_logging(early_log)
    for note in started.notes:
        log.info("%s", note)
    server, problems = started.server, started.problems

    tray = Tray(pystray, server)
    single.listen(tray.open_library)
    if tray_backend.missing_system_tray():
        log.warning("No system tray on this desktop; the icon cannot show")
        say(
            "This desktop shows no tray icons (on GNOME, the AppIndicator extension adds them), so the "
            f"Couchcast icon is hidden. It keeps running: the library is at {tray.local_url()} and "
            "starting Couchcast again opens it. Stop it with Ctrl+C or from the task manager.",
            error=True,
        )

    def setup(icon) -> None:
        # Started here, once the loop runs: icon.stop() before that would be lost (pystray ignores it).
        watcher = threading.Thread(
            target=_stop_tray_when_asked, args=(tray, server, stop_signals), name="couchcast-signals"
        )
        watcher.daemon = True
        watcher.start()
        icon.visible = True
        if open_browser:
            tray.open_library()
        for problem in problems:
            tray.tell(problem)

    log.info("Tray up; library at http://127.0.0.1:%s/", server.port)
    try:
        tray.icon.run(setup)
    finally:
        log.info("Tray closed; stopping the server")
        server.stop()
    return 0


def _stop_tray_when_asked(tray: Tray, server: runner.ServerHandle, stop_signals: list[int]) -> None:
    while not stop_signals and server.is_running() and not tray.quitting:
        time.sleep(SIGNAL_POLL)
    if tray.quitting:
        return
    log.info("Stopping on %s", f"signal {stop_signals[0]}" if stop_signals else "server loss")
    tray.icon.stop()
