"""Start Django in this process: settings, database migrations, the WSGI application, background work.

The library scanner starts here (not in an AppConfig.ready) so that management commands such as
`makemigrations` never start it: only a process that serves requests scans.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.streaming.fast_path import MediaFastPath

_ready = threading.Lock()
_application = None
_django_ready = False


def setup_django() -> None:
    """Configure Django from server.settings and apply migrations (once per process; no scanner)."""
    global _django_ready
    with _ready:
        if not _django_ready:
            os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
            import django
            from django.core.management import call_command

            django.setup()
            call_command("migrate", interactive=False, verbosity=0)
            _django_ready = True


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
    from server.transcode import manager

    manager.stop_all()  # no ffmpeg process outlives the server
    scanner.stop()
