"""A Couchcast server inside the test process: its own runtime (key, shares, scanner, conversions)
on a real port for browsers, and requests answered by calling its WSGI application directly.

This is what most HTTP tests need: the same application a phone reaches (the media fast path in
front of Django, every middleware), without starting a Python process per server. Tests that watch
the process itself (its files, its log, its exit, sendfile on the socket) start `couchcast serve`
in a subprocess instead (`tests.helpers.start_server`).

Django is per process (one settings module, one SQLite file, set up once under the first
COUCHCAST_HOME); every in-process server keeps everything else under its own home. So that tests can
name a server's first folder `1`, as they do for a server process, a server started while no other
in-process server runs begins with an empty library (`_start_library_afresh`).
"""

from __future__ import annotations

import http.client
import io
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from server import runner
from server.dirs import UserDirs
from server.options import RuntimeOptions
from tests.helpers import ACCESS_KEY, Response, keyed_headers


def home_dirs(home: Path) -> UserDirs:
    """The dirs a server keeps under `home`, laid out as COUCHCAST_HOME lays them out."""
    return UserDirs(home / "config", home / "data", home / "cache", home / "logs")


@dataclass
class InProcessServer:
    handle: runner.ServerHandle
    key: str
    home: Path

    @property
    def port(self) -> int:
        return self.handle.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime(self):
        return self.handle.runtime

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        *,
        with_key: bool = True,
        body: bytes | None = None,
        address: str = "127.0.0.1",
    ) -> Response:
        """One request through the server's WSGI application; the key goes as a phone's cookie."""
        all_headers = keyed_headers(headers, self.key if with_key else None)
        target = urlsplit(path)
        body = body or b""
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            # As a WSGI server gives it: the path's bytes, percent-decoded, as latin-1 code points.
            "PATH_INFO": unquote_to_bytes(target.path).decode("latin-1"),
            "QUERY_STRING": target.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": address,
            "HTTP_HOST": f"127.0.0.1:{self.port}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
        for name, value in all_headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        started: dict = {}

        def start_response(status: str, response_headers: list, exc_info=None) -> None:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = response_headers

        result = self.handle.application(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        message = http.client.HTTPMessage()
        for name, value in started["headers"]:
            message[name] = value
        if method == "HEAD":
            data = b""  # what a server sends for HEAD, whatever the application returned
        return Response(started["status"], message, data)

    def stop(self, timeout: float = 10) -> int:
        if self.handle.is_running():
            self.handle.stop(timeout)
            _running.discard(self)
        return 0

    def __hash__(self) -> int:
        return id(self)


_running: set[InProcessServer] = set()


def _start_library_afresh() -> None:
    """Empty the library tables and restart their ids (the next shared folder is folder 1)."""
    from django.db import connection

    from server.library.models import MediaFile, SharedFolder, WatchProgress

    WatchProgress.objects.all().delete()
    MediaFile.objects.all().delete()
    SharedFolder.objects.all().delete()
    with connection.cursor() as cursor:
        tables = [model._meta.db_table for model in (SharedFolder, MediaFile, WatchProgress)]
        marks = ",".join("%s" for _ in tables)
        cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({marks})", tables)


def start_in_process(
    folders: list[Path],
    home: Path,
    *,
    key: str = ACCESS_KEY,
    options: RuntimeOptions | None = None,
    environ: dict[str, str] | None = None,
) -> InProcessServer:
    """A server of its own in this process, sharing `folders` for its run, listening on a free port.

    `environ` sets the tunables as `couchcast serve` would read them (COUCHCAST_SCAN_INTERVAL...).
    """
    os.environ.setdefault("COUCHCAST_HOME", str(home))  # Django's database, for the first one only
    from server.app import setup_django

    setup_django()
    if not _running:
        _start_library_afresh()
    handle = runner.start(
        "127.0.0.1",
        0,
        access_key=key,
        dirs=home_dirs(home),
        folders_this_run=tuple(map(str, folders)),
        options=options or RuntimeOptions.from_environ(environ or {}),
    )
    server = InProcessServer(handle, key, home)
    _running.add(server)
    return server


def make_runtime(home: Path, folders: list[Path] = (), *, key: str = ACCESS_KEY, options=None):
    """A runtime not started (no scanner thread) for tests that call its parts themselves."""
    from server.app import setup_django

    os.environ.setdefault("COUCHCAST_HOME", str(home))
    setup_django()
    from server.runtime import Runtime

    return Runtime(
        home_dirs(home), key, folders_this_run=tuple(map(str, folders)), options=options or RuntimeOptions()
    )
