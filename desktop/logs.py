"""Logging for the double-clicked app: a rotating file in the user log dir from the first line on.

Django's settings configure the same file once the server starts; until then (backend choice, the
single-instance check, a port or config problem) this handler keeps the start-up story on disk, so a
tray app that never showed up can still be diagnosed. Uncaught exceptions go to the file too, and a
person sees one plain sentence instead of a traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from server.dirs import user_dirs

LOG_NAME = "couchcast.log"
# Same file and limits as server/settings.py LOGGING, so the two handlers read as one log.
MAX_BYTES = 2_000_000
BACKUPS = 3

log = logging.getLogger(__name__)


def log_path() -> Path:
    return user_dirs().logs / LOG_NAME


def setup_early_logging() -> logging.Handler | None:
    """Log INFO and above to the rotating file; returns the handler (None if the dir is not writable)."""
    # A log that cannot be written (a full disk) must not print "--- Logging error ---" and a
    # traceback on serve's terminal for every line: the app goes on without it.
    logging.raiseExceptions = False
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError as exc:
        print(f"Cannot write the log file {path} ({exc.strerror or exc}).", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    log.info("Couchcast starting (pid %s)", os.getpid())
    return handler


def retire_early_logging(handler: logging.Handler | None) -> None:
    """Close the early handler once Django's logging owns the file (two open handles block rotation)."""
    if handler is None:
        return
    root = logging.getLogger()
    if handler in root.handlers and len(root.handlers) > 1:
        root.removeHandler(handler)
    if handler not in root.handlers:
        handler.close()


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread else "?"
    details = (args.exc_type, args.exc_value, args.exc_traceback)
    log.error("Uncaught error in thread %s", name, exc_info=details)


def _log_uncaught(kind, value, traceback) -> None:
    if issubclass(kind, KeyboardInterrupt):
        return
    logging.getLogger("couchcast").critical("Uncaught error", exc_info=(kind, value, traceback))
    print(f"Couchcast stopped on an unexpected error: {value}. Details are in {log_path()}.", file=sys.stderr)
