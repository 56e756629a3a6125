"""Start Django in this process: settings, database migrations, the WSGI application, background work.

The library scanner starts here (not in an AppConfig.ready) so that management commands such as
`makemigrations` never start it: only a process that serves requests scans.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.streaming.fast_path import MediaFastPath

_ready = threading.Lock()
_application = None
_django_ready = False
_problems: list[str] = []

# What SQLite says of a file that is not (or no longer) a database it can read.
DAMAGED_DATABASE = ("file is not a database", "database disk image is malformed")


def setup_django() -> None:
    """Configure Django from server.settings and apply migrations (once per process; no scanner)."""
    global _django_ready
    with _ready:
        if not _django_ready:
            os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
            import django
            from django.core.management import call_command

            django.setup()
            from django.db import DatabaseError

            try:
                call_command("migrate", interactive=False, verbosity=0)
            except DatabaseError as exc:
                if not any(sign in str(exc) for sign in DAMAGED_DATABASE):
                    raise
                _problems.append(_start_a_new_database())
                call_command("migrate", interactive=False, verbosity=0)
            _django_ready = True


def _start_a_new_database() -> str:
    """Keep a damaged database aside (with its journal files) so that a new one can start; say so.

    The index is rebuilt from the shared folders (they live in the config); only watch positions
    are in the kept file, for anyone who wants to try to rescue them.
    """
    from django.conf import settings
    from django.db import connections

    from server.config import keep_aside

    connections.close_all()
    database = Path(settings.DATABASES["default"]["NAME"])
    kept = keep_aside(database)
    for journal in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        if journal.exists():
            keep_aside(journal)
    return (
        f"The library database was damaged: it is kept as {kept} and a new one was started. "
        "Your folders are read again; resume positions start afresh (the old file still holds them)."
    )


def startup_problems() -> list[str]:
    """What went wrong at start and was mended, in words for the person (said once by the caller)."""
    return list(_problems)


def wsgi_application() -> MediaFastPath:
    """Set Django up once (settings from code, migrations applied), start the scanner, return the app.

    The app is Django behind the media fast path (`server.streaming.fast_path`).
    """
    global _application
    setup_django()
    with _ready:
        if _application is None:
            from django.core.wsgi import get_wsgi_application

            from server.streaming.fast_path import MediaFastPath

            _application = MediaFastPath(get_wsgi_application())

            from server.library import scanner

            scanner.start()
        return _application


def stop_background_work() -> None:
    """Stop the library scanner and its workers, and every ffmpeg conversion (the server is stopping)."""
    from server.library import scanner
    from server.transcode import scheduler

    scheduler.stop_all()  # no ffmpeg process outlives the server
    scanner.stop()
