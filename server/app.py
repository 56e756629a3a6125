"""Start Django in this process: settings, database migrations, the WSGI application."""

from __future__ import annotations

import os
import threading

_ready = threading.Lock()
_application = None


def wsgi_application():
    """Set Django up once (settings from code, migrations applied) and return the WSGI app."""
    global _application
    with _ready:
        if _application is None:
            os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
            import django
            from django.core.management import call_command
            from django.core.wsgi import get_wsgi_application

            django.setup()
            call_command("migrate", interactive=False, verbosity=0)
            _application = get_wsgi_application()
        return _application
