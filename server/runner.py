"""Run the Django app under waitress on a background thread: `start(host, port)` -> `ServerHandle`.

This is the one interface the desktop shell and `couchcast serve` use to run the server.
Media bodies are file objects that waitress sends from its I/O loop (`wsgi.file_wrapper`), so a
worker thread is only busy while a view runs; on Linux and macOS the bytes go through
`os.sendfile` (no copy through Python), elsewhere through waitress's own buffered reads.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from waitress.buffers import ReadOnlyFileBasedBuffer
from waitress.channel import HTTPChannel
from waitress.server import create_server

from server.streaming.files import BoundedFile

log = logging.getLogger(__name__)

WORKER_THREADS = 8
# Phones open several connections each (page, thumbnails, video, prefetch); 100 is too few for a
# house with a few viewers and a slow-reading client or two.
CONNECTION_LIMIT = 1000
# A paused video's connection sits idle; browsers re-request with a Range when playback resumes,
# so closing idle connections after a while only frees a socket and a file.
CHANNEL_TIMEOUT = 300
SENDFILE_CHUNK = 8 * 1024 * 1024
_DISCONNECTED = frozenset(
    {
        errno.ECONNRESET,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EBADF,
    }
)


class PortInUse(Exception):
    """The port is taken by another program (or another Couchcast)."""


class SendfileChannel(HTTPChannel):
    """waitress's channel, sending range-bounded files with os.sendfile when the OS has it."""

    def _flush_some(self, do_close=True):
        outbuf = self.outbufs[0]
        source = getattr(outbuf, "file", None)
        if not (isinstance(outbuf, ReadOnlyFileBasedBuffer) and isinstance(source, BoundedFile)):
            return super()._flush_some(do_close)
        sent = 0
        while outbuf.remain > 0:
            try:
                count = os.sendfile(
                    self.socket.fileno(),
                    source.fileno(),
                    source.tell(),
                    min(outbuf.remain, SENDFILE_CHUNK),
                )
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in _DISCONNECTED:
                    if do_close:
                        self.handle_close()
                    return bool(sent)
                raise
            if count == 0:  # the file ended early (truncated while streaming): stop waiting on it
                self.handle_close()
                return bool(sent)
            outbuf.skip(count, True)
            self.total_outbufs_len -= count
            sent += count
        if outbuf.remain == 0 and len(self.outbufs) > 1:
            # Done with this file: let the base class pop and close it and go on with the next buffer.
            return super()._flush_some(do_close) or bool(sent)
        if sent:
            self.last_activity = time.time()
        return bool(sent)


@dataclass
class ServerHandle:
    host: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def local_host(self) -> str:
        """The address to reach this server from this computer."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (streams end at once), stop the workers, join the thread."""
        from server.transcode.manager import stop_all

        stop_all()  # no ffmpeg process outlives the server
        server = self._server
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        # Closing every channel empties waitress's socket map, which ends its loop in run().
        for _ in range(100):
            channels = list(server._map.values())
            if not channels:
                break
            for channel in channels:
                with contextlib.suppress(OSError):
                    channel.handle_close()
            time.sleep(0.01)
        self._thread.join(timeout)
        from server.app import stop_background_work

        stop_background_work()


def start(host: str, port: int, *, access_key: str) -> ServerHandle:
    """Set Django up (migrations included) and serve it on host:port from a background thread.

    Raises PortInUse when the port is taken. Port 0 picks a free port (see `handle.port`).
    """
    from server.access.keys import set_access_key
    from server.app import wsgi_application

    set_access_key(access_key)
    application = wsgi_application()
    try:
        server = create_server(
            application,
            host=host,
            port=port,
            threads=WORKER_THREADS,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=CHANNEL_TIMEOUT,
            ident="Couchcast",
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"Port {port} is already in use by another program.") from exc
        raise
    if hasattr(os, "sendfile"):
        server.channel_class = SendfileChannel
    bound_port = server.socket.getsockname()[1]
    thread = threading.Thread(target=_serve_forever, args=(server,), name="couchcast-server", daemon=True)
    thread.start()
    log.info("Serving on %s:%s", host, bound_port)
    return ServerHandle(host, bound_port, server, thread)


def _serve_forever(server) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # Raised by the loop when stop() closes sockets under it; anything else is a real bug.
        log.debug("server loop ended", exc_info=True)
