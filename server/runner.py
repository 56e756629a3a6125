"""Run a server under waitress on a background thread: `start(host, port, ...)` -> `ServerHandle`.

This is the one interface the desktop shell and `couchcast serve` use to run the server. Each server
has its own `server.runtime.Runtime` (key, shares, scanner, conversions), built here from plain
arguments and stopped with it.
Media bodies are file objects that waitress sends from its I/O loop (`wsgi.file_wrapper`), so a
worker thread is only busy while a view runs; on Linux and macOS the bytes go through
`os.sendfile` (no copy through Python), elsewhere through plain reads (`server.channel`).
`COUCHCAST_SENDFILE=0` (`RuntimeOptions.sendfile`) turns os.sendfile off (to compare, or if a file
system misbehaves with it).
What one client may hold (connections, time, request sizes) is `server.connections`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from waitress.channel import HTTPChannel

from server.channel import ReadingChannel, SendfileChannel
from server.connections import (
    MAINTENANCE_INTERVAL,
    MAX_REQUEST_BODY_BYTES,
    MAX_REQUEST_HEAD_BYTES,
    GuardedServer,
)
from server.dirs import UserDirs

if TYPE_CHECKING:
    from server.options import RuntimeOptions
    from server.runtime import Runtime

log = logging.getLogger(__name__)

# A request for a segment that is being converted waits on its thread (a seek into a long GOP of a
# 4K film: seconds). With a few viewers converting and their pages, thumbnails and ranges besides,
# 8 threads ran out; a waiting thread costs only its stack.
WORKER_THREADS = 24
# Phones open several connections each (page, thumbnails, video, prefetch); 100 is too few for a
# house with a few viewers and a slow-reading client or two.
CONNECTION_LIMIT = 1000
# Every stream holds a socket and an open file: the process needs about two descriptors per connection.
FILES_PER_CONNECTION = 2
FILES_RESERVED = 100  # log files, the database, waitress's own pipe and listening socket, ffmpeg pipes
# CPython's select() on Windows watches at most 512 sockets.
SELECT_SOCKETS_LIMIT = 500
# A paused video's connection sits idle; browsers re-request with a Range when playback resumes,
# so closing idle connections after a while only frees a socket and a file.
CHANNEL_TIMEOUT = 300


class PortInUse(Exception):
    """The port is taken by another program (or another Couchcast)."""


@dataclass
class ServerHandle:
    host: str
    port: int
    runtime: Runtime = field(repr=False)
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    # What went wrong at start and was mended (a damaged database kept aside): for the person to read.
    problems: list[str] = field(default_factory=list)

    @property
    def local_host(self) -> str:
        """The address to reach this server from this computer."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    @property
    def application(self):
        """The WSGI application this server runs (its runtime's media fast path in front of Django)."""
        return self._server.application

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End every stream and this server's background work, close the server, join its thread."""
        server = self._server
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        # Close every channel on the loop's own thread: the trigger wakes the loop at once (a close
        # from here would sit out the loop's 1 s poll timeout), and an empty socket map ends run().
        server.trigger.pull_trigger(lambda: _close_channels(server))
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the server loop did not stop within %s s; closing its sockets from here", timeout)
            _close_channels(server)
        self.runtime.stop()


def _close_channels(server) -> None:
    for dispatcher in list(server._map.values()):
        with contextlib.suppress(OSError):
            if isinstance(dispatcher, HTTPChannel):
                dispatcher.handle_close()  # also closes the files it was sending
            else:
                dispatcher.close()  # the listening socket and the trigger


def start(
    host: str,
    port: int,
    *,
    access_key: str,
    dirs: UserDirs,
    saved_folders: tuple[str, ...] = (),
    folders_this_run: tuple[str, ...] = (),
    options: RuntimeOptions | None = None,
) -> ServerHandle:
    """Set Django up (migrations included), build a runtime and serve it on host:port from a thread.

    Raises PortInUse when the port is taken (nothing is started then). Port 0 picks a free port
    (see `handle.port`). The handle's `problems` are what went wrong at start and was mended.
    """
    from server.app import django_handler, setup_django

    problems = setup_django()
    from server.options import RuntimeOptions
    from server.runtime import Runtime
    from server.streaming.fast_path import MediaFastPath

    options = options or RuntimeOptions()
    try:
        server = GuardedServer(
            None,  # the application is set below, once the port is ours
            host=host,
            port=port,
            threads=WORKER_THREADS,
            connection_limit=fitting_connection_limit(),
            channel_timeout=CHANNEL_TIMEOUT,
            cleanup_interval=MAINTENANCE_INTERVAL,
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
            max_request_header_size=MAX_REQUEST_HEAD_BYTES,
            # select() fails on descriptors above 1023 (FD_SETSIZE), which ~500 streams reach:
            # the loop then raised and the server stopped serving. poll() has no such limit.
            asyncore_use_poll=True,
            ident="Couchcast",
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"Port {port} is already in use by another program.") from exc
        raise
    runtime = Runtime(
        dirs, access_key, saved_folders=saved_folders, folders_this_run=folders_this_run, options=options
    )
    server.application = MediaFastPath(runtime, django_handler())
    server.channel_class = SendfileChannel if sendfile_enabled(options.sendfile) else ReadingChannel
    runtime.start()
    bound_port = server.socket.getsockname()[1]
    thread = threading.Thread(target=_serve_forever, args=(server,), name="couchcast-server", daemon=True)
    thread.start()
    log.info("Serving on %s:%s", host, bound_port)
    return ServerHandle(host, bound_port, runtime, server, thread, problems)


def fitting_connection_limit() -> int:
    """CONNECTION_LIMIT, lowered to what this process can hold open (raising its file limit first).

    Linux's default soft limit of 1024 files would otherwise stop accepting (EMFILE) at about 460
    streams. Where there is no poll() (Windows), select() limits the number of sockets instead.
    """
    if not hasattr(select, "poll"):
        return min(CONNECTION_LIMIT, SELECT_SOCKETS_LIMIT)
    try:
        import resource
    except ImportError:
        return CONNECTION_LIMIT
    wanted = CONNECTION_LIMIT * FILES_PER_CONNECTION + FILES_RESERVED
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            log.warning("Could not raise the open-file limit from %s to %s.", soft, raised, exc_info=True)
    if soft == resource.RLIM_INFINITY:
        return CONNECTION_LIMIT
    return max(1, min(CONNECTION_LIMIT, (soft - FILES_RESERVED) // FILES_PER_CONNECTION))


def sendfile_enabled(wanted: bool = True) -> bool:
    """os.sendfile where the OS has it, unless the options ask for waitress's buffered path."""
    return hasattr(os, "sendfile") and wanted


def _serve_forever(server) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # Raised by the loop when stop() closes sockets under it; anything else is a real bug.
        log.debug("server loop ended", exc_info=True)
