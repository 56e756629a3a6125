"""Django in this process: settings, database migrations, the one Django WSGI handler.

These are per process because Django is: one settings module, one database. Everything a server holds
while it runs is its `server.runtime.Runtime`, not here, and nothing starts background work here, so
management commands such as `makemigrations` never start a scanner.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIHandler

_ready = threading.Lock()
_handler: WSGIHandler | None = None
_problems: list[str] | None = None

# What SQLite says of a file that is not (or no longer) a database it can read.
DAMAGED_DATABASE = ("file is not a database", "database disk image is malformed")


def setup_django() -> list[str]:
    """Configure Django from server.settings and apply migrations, once per process.

    Returns what went wrong and was mended (a damaged database kept aside), in words for the person:
    to the first caller only, so it is said once.
    """
    global _problems
    with _ready:
        if _problems is not None:
            return []
        os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
        import django
        from django.conf import settings
        from django.core.management import call_command
        from django.db import DatabaseError

        settings.DIRS.create()  # the database and the log file live there
        django.setup()
        problems = []
        try:
            call_command("migrate", interactive=False, verbosity=0)
        except DatabaseError as exc:
            if not any(sign in str(exc) for sign in DAMAGED_DATABASE):
                raise
            problems.append(_start_a_new_database())
            call_command("migrate", interactive=False, verbosity=0)
        _problems = problems
        return list(problems)


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


def django_handler() -> WSGIHandler:
    """Django's WSGI handler for this process (built once; every server's fast path wraps it)."""
    global _handler
    with _ready:
        if _handler is None:
            from django.core.wsgi import get_wsgi_application

            _handler = get_wsgi_application()
        return _handler
