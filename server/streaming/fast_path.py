"""The everyday media request, answered without Django's request cycle.

A phone playing a video asks for one range after another, often several a second when it seeks.
Django's middleware, signals and request objects cost more per request than finding and opening the
file (about half the server's time on a keep-alive connection of 64 KiB ranges), so this WSGI
wrapper answers the common case itself, the way WhiteNoise's WSGI mode answers static files:

    GET or HEAD of /media/<folder>/<path>, no query string, no If-Match/If-None-Match/
    If-Modified-Since/If-Unmodified-Since, a right key in the cookie or a Bearer header.

It uses the same pieces as the Django view (Django's own URL resolver, `views.open_media`,
`responses.file_answer`, the access key checks, the security headers), so it can only answer as the
view would. Everything else goes to Django, untouched: a missing key, a wrong one (so misses are
counted in one place), a 404, a download, a conditional request, and any error here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from http import HTTPStatus
from wsgiref.util import FileWrapper

from django.http import Http404
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve

from server.access import keys
from server.access.middleware import SECURITY_HEADERS
from server.runtime import ENVIRON_KEY, Runtime
from server.streaming import views
from server.streaming.responses import CONDITIONAL_HEADERS, FileAnswer, Validators, file_answer

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
BLOCK_SIZE = 64 * 1024  # for servers without sendfile that read the body themselves


class MediaFastPath:
    """One server's WSGI application: media requests it can answer alone, the rest to `application`
    (Django), with the server's runtime in the environ for Django's views (`server.runtime.runtime_of`)."""

    def __init__(self, runtime: Runtime, application: WSGIApp) -> None:
        self.runtime = runtime
        self.application = application

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[ENVIRON_KEY] = self.runtime
        try:
            answer = media_answer(environ, self.runtime)
        except Exception:
            logger.exception("The media fast path failed; Django answers instead")
            answer = None
        if answer is None:
            return self.application(environ, start_response)
        start_response(
            f"{answer.status} {HTTPStatus(answer.status).phrase}",
            [*answer.headers.items(), *SECURITY_HEADERS.items()],
        )
        if answer.body is None:
            return []
        file_wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
        return file_wrapper(answer.body, BLOCK_SIZE)


def media_answer(environ: dict, runtime: Runtime) -> FileAnswer | None:
    """The answer to a plain media request from a phone that holds the key, or None for Django."""
    method = environ.get("REQUEST_METHOD")
    if method not in ("GET", "HEAD") or environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME"):
        return None
    if not environ.get("PATH_INFO", "").startswith("/media/"):
        return None
    if not CONDITIONAL_HEADERS.isdisjoint(environ):
        return None
    try:
        # WSGI gives the path as latin-1 code points of its bytes; Django reads those bytes as UTF-8.
        path = environ["PATH_INFO"].encode("latin-1").decode("utf-8")
        match = resolve(path)
    except (UnicodeError, Resolver404):
        return None
    if match.func is not views.media or not _holds_the_key(environ, runtime.keys):
        return None
    try:
        file, content_type = views.open_media(runtime.shares, **match.kwargs)
    except Http404:
        return None
    try:
        validators = Validators.of(
            file, filename=os.path.basename(match.kwargs["relpath"]), as_attachment=False
        )
    except BaseException:
        file.close()
        raise
    return file_answer(
        file,
        validators,
        content_type,
        method=method,
        range_header=environ.get("HTTP_RANGE"),
        if_range=environ.get("HTTP_IF_RANGE"),
    )


def _holds_the_key(environ: dict, access_keys: keys.AccessKeys) -> bool:
    """A right key and an address not held back; any refusal is the access middleware's to answer
    (and to count)."""
    offered = keys.offered_keys(
        query=None,
        authorization=environ.get("HTTP_AUTHORIZATION", ""),
        cookie=parse_cookie(environ.get("HTTP_COOKIE", "")).get(keys.COOKIE_NAME),
    )
    return access_keys.admit(offered, environ.get("REMOTE_ADDR", ""), count_misses=False).admitted
