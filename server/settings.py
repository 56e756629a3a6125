"""Django settings, built in code from the user dirs: nobody sets DJANGO_SETTINGS_MODULE by hand.

DEBUG is off always: a person's browser must never see a debug page, whatever goes wrong.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from server.dirs import user_dirs

# The process's dirs: the database and the log file (each server's runtime has its own for the rest).
DIRS = user_dirs()
BASE_DIR = Path(__file__).resolve().parent

DEBUG = False
# Only signs nothing persistent (no sessions, no signed cookies): a fresh one per run is enough.
SECRET_KEY = secrets.token_urlsafe(50)
# Phones reach us by whatever LAN address the house router gave; the access key is the guard.
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "server.access",
    "server.library",
    "server.streaming",
    "server.transcode",
    "server.api",
    "server.pages",
]

MIDDLEWARE = [
    "server.access.middleware.HeadWithoutBodyMiddleware",
    "server.access.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "server.api.middleware.JsonErrorsMiddleware",
    "server.access.middleware.AccessKeyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "server.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DIRS.data / "couchcast.sqlite3",
        # Keep each thread's connection: reopening SQLite (and its PRAGMAs) on every request costs more
        # than the query; the file is local and only this process uses it.
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            # WAL lets the scanner write while requests read; a busy writer waits instead of failing.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

STATIC_URL = "/static/"
# Static files come straight from the apps' static/ folders (no collectstatic step to forget, and
# they are inside the one-file build as package data); whitenoise indexes them once at start.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
WHITENOISE_MAX_AGE = 3600

CSRF_COOKIE_SAMESITE = "Lax"
CSRF_HEADER_NAME = "HTTP_X_CSRFTOKEN"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(DIRS.logs / "couchcast.log"),
            "maxBytes": 2_000_000,
            "backupCount": 3,
            "encoding": "utf-8",
            "formatter": "plain",
            "delay": True,
        },
    },
    "root": {"handlers": ["file"], "level": "INFO"},
    "loggers": {
        # A 404 for a stale link is normal traffic, not a warning worth a log line each.
        "django.request": {"level": "ERROR"},
        "waitress.queue": {"level": "ERROR"},
    },
}
CSRF_FAILURE_VIEW = "server.pages.views.csrf_failure"
