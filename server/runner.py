"""Run the Django app under waitress on a background thread: `start(host, port)` -> `ServerHandle`.

This is the one interface the desktop shell and `couchcast serve` use to run the server.
Media bodies are file objects that waitress sends from its I/O loop (`wsgi.file_wrapper`), so a
worker thread is only busy while a view runs; on Linux and macOS the bytes go through
`os.sendfile` (no copy through Python), elsewhere through plain reads (`SendfileChannel`).
`COUCHCAST_SENDFILE=0` turns os.sendfile off (to compare, or if a file system misbehaves with it).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
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
# Every stream holds a socket and an open file: the process needs about two descriptors per connection.
FILES_PER_CONNECTION = 2
FILES_RESERVED = 100  # log files, the database, waitress's own pipe and listening socket, ffmpeg pipes
# CPython's select() on Windows watches at most 512 sockets.
SELECT_SOCKETS_LIMIT = 500
# A paused video's connection sits idle; browsers re-request with a Range when playback resumes,
# so closing idle connections after a while only frees a socket and a file.
CHANNEL_TIMEOUT = 300
# Upper bound for one os.sendfile call: the kernel sends what fits in the socket buffer anyway;
# the bound only keeps one fast reader from holding the I/O loop for long.
SENDFILE_CHUNK = 8 * 1024 * 1024
# Without sendfile, a file body goes out in reads of this size. waitress would read as much as the
# socket's SO_SNDBUF (4 MiB on Linux loopback) on every wake-up and re-read what did not fit.
READ_CHUNK = 256 * 1024
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
    """waitress's channel, sending range-bounded file bodies with os.sendfile (or plain reads).

    Replaces `HTTPChannel._flush_some`, which waitress calls from its I/O loop and from worker
    threads (with `do_close=False`: only the I/O loop may close the socket). A `BoundedFile` body
    goes through os.sendfile; other file bodies (multipart/byteranges, or all of them without
    sendfile) in reads of READ_CHUNK; in-memory buffers (headers, small responses) as waitress sends them.

    Why a replacement and not a wrapper: waitress's loop sends the first part of a file body
    (everything that fits in the socket buffer) with its own reads, and when a file shrinks while
    it is being sent, a read returns nothing, nothing is sent, and the channel stays writable: the
    I/O loop spins at 100% CPU until the client goes away. Here a file that ends early closes the
    connection (the promised Content-Length can no longer be kept).
    """

    use_sendfile = True
    _unsent: memoryview | None = None  # read from the file but not yet accepted by the socket

    def _flush_some(self, do_close: bool = True) -> bool:
        sent = 0
        while self.connected:
            outbuf = self.outbufs[0]
            if self.use_sendfile and _is_bounded_file(outbuf):
                send = self._send_file
            elif isinstance(outbuf, ReadOnlyFileBasedBuffer):  # any other file body, e.g. multipart
                send = self._send_read_file
            else:
                send = self._send_buffer
            count, drained = send(outbuf, do_close)
            sent += count
            if not drained or len(self.outbufs) == 1:
                break
            finished = self.outbufs.pop(0)
            try:
                finished.close()
            except Exception:
                self.logger.exception("Unexpected error when closing an outbuf")
        if sent:
            self.last_activity = time.time()
        return bool(sent)

    def _send_buffer(self, outbuf, do_close: bool) -> tuple[int, bool]:
        sent = 0
        while len(outbuf) > 0:
            count = self.send(outbuf.get(self.sendbuf_len), do_close=do_close)
            if not count:
                return sent, False
            outbuf.skip(count, True)
            self.total_outbufs_len -= count
            sent += count
        return sent, True

    def _send_file(self, outbuf: ReadOnlyFileBasedBuffer, do_close: bool) -> tuple[int, bool]:
        source: BoundedFile = outbuf.file
        sent = 0
        while outbuf.remain > 0:
            try:
                count = os.sendfile(
                    self.socket.fileno(), source.fileno(), source.tell(), min(outbuf.remain, SENDFILE_CHUNK)
                )
            except BlockingIOError:  # EAGAIN: the socket buffer is full; the loop calls again when not
                return sent, False
            except OSError as exc:
                if exc.errno not in _DISCONNECTED:
                    raise
                self._hang_up(do_close)
                return sent, False
            if count == 0:
                self._file_ended_early(do_close)
                return sent, False
            outbuf.skip(count, True)
            self.total_outbufs_len -= count
            sent += count
        return sent, True

    def _send_read_file(self, outbuf: ReadOnlyFileBasedBuffer, do_close: bool) -> tuple[int, bool]:
        sent = 0
        while self._unsent or outbuf.remain > 0:
            if not self._unsent:
                data = outbuf.get(min(outbuf.remain, READ_CHUNK), skip=True)
                if not data:
                    self._file_ended_early(do_close)
                    return sent, False
                self._unsent = memoryview(data)
            count = self.send(self._unsent, do_close=do_close)
            if not count:
                return sent, False
            self._unsent = self._unsent[count:]
            self.total_outbufs_len -= count
            sent += count
        return sent, True

    def _file_ended_early(self, do_close: bool) -> None:
        log.warning("A file shrank while it was being sent; closing that connection.")
        self._hang_up(do_close)

    def _hang_up(self, do_close: bool) -> None:
        # From a worker thread, only mark it: the I/O loop closes channels marked will_close.
        self.will_close = True
        if do_close:
            self.handle_close()

    def handle_close(self) -> None:
        # Under the lock: a worker thread may be in the middle of sending `_unsent` (the I/O loop
        # closes a channel as soon as poll() reports the client gone).
        with self.outbuf_lock:
            self._unsent = None
            super().handle_close()


def _is_bounded_file(outbuf) -> bool:
    return isinstance(outbuf, ReadOnlyFileBasedBuffer) and isinstance(outbuf.file, BoundedFile)


class ReadingChannel(SendfileChannel):
    """The same channel without os.sendfile: where the OS lacks it, or with COUCHCAST_SENDFILE=0."""

    use_sendfile = False


@dataclass
class ServerHandle:
    host: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    # What went wrong at start and was mended (a damaged database kept aside): for the person to read.
    problems: list[str] = field(default_factory=list)

    @property
    def local_host(self) -> str:
        """The address to reach this server from this computer."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End every stream and background job, close the server, join its thread."""
        from server.app import stop_background_work

        server = self._server
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        # Close every channel on the loop's own thread: the trigger wakes the loop at once (a close
        # from here would sit out the loop's 1 s poll timeout), and an empty socket map ends run().
        server.trigger.pull_trigger(lambda: _close_channels(server))
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the server loop did not stop within %s s; closing its sockets from here", timeout)
            _close_channels(server)
        stop_background_work()


def _close_channels(server) -> None:
    for dispatcher in list(server._map.values()):
        with contextlib.suppress(OSError):
            if isinstance(dispatcher, HTTPChannel):
                dispatcher.handle_close()  # also closes the files it was sending
            else:
                dispatcher.close()  # the listening socket and the trigger


def start(host: str, port: int, *, access_key: str) -> ServerHandle:
    """Set Django up (migrations included) and serve it on host:port from a background thread.

    Raises PortInUse when the port is taken. Port 0 picks a free port (see `handle.port`).
    """
    from server.access.keys import set_access_key
    from server.app import startup_problems, wsgi_application

    set_access_key(access_key)
    application = wsgi_application()
    try:
        server = create_server(
            application,
            host=host,
            port=port,
            threads=WORKER_THREADS,
            connection_limit=fitting_connection_limit(),
            channel_timeout=CHANNEL_TIMEOUT,
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
    server.channel_class = SendfileChannel if sendfile_enabled() else ReadingChannel
    bound_port = server.socket.getsockname()[1]
    thread = threading.Thread(target=_serve_forever, args=(server,), name="couchcast-server", daemon=True)
    thread.start()
    log.info("Serving on %s:%s", host, bound_port)
    return ServerHandle(host, bound_port, server, thread, startup_problems())


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


def sendfile_enabled() -> bool:
    """os.sendfile where the OS has it, unless COUCHCAST_SENDFILE=0 asks for waitress's buffered path."""
    return hasattr(os, "sendfile") and os.environ.get("COUCHCAST_SENDFILE", "1") != "0"


def _serve_forever(server) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # Raised by the loop when stop() closes sockets under it; anything else is a real bug.
        log.debug("server loop ended", exc_info=True)
