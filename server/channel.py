"""One client's connection: how its requests are read and its answers sent (waitress's HTTPChannel, extended).

Two things waitress's channel does not do:
- file bodies go out through `os.sendfile` (no copy through Python) where the OS has it, and a file that
  shrinks while it is sent closes the connection instead of spinning the I/O loop;
- a connection knows since when it has kept the server waiting for a request it has only partly sent,
  so that the server (`server.connections`) can close connections that trickle a request in forever.

This relies on waitress internals (`_flush_some`, `outbufs`, `request`): waitress is pinned exactly.
"""

from __future__ import annotations

import errno
import logging
import os
import time

from waitress.buffers import ReadOnlyFileBasedBuffer
from waitress.channel import HTTPChannel

from server.streaming.files import BoundedFile

log = logging.getLogger(__name__)

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
# What a connection that took too long to send its request gets before it is closed. Browsers
# retry a request that met a 408 on a reused connection on a fresh one.
REQUEST_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


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
    # Since when the server has been waiting for a request this client began (a new connection:
    # for its first request) and not finished; None between requests.
    _request_begun: float | None = None

    def __init__(self, server, sock, addr, adj, map=None) -> None:
        super().__init__(server, sock, addr, adj, map)
        # A connection that never sends a byte holds a socket like one that trickles a header.
        self._request_begun = self.creation_time

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        if self.request is None:  # every request in `data` was complete
            self._request_begun = None
        elif self._request_begun is None:
            self._request_begun = time.time()
        return result

    def request_waiting_since(self, now: float) -> float | None:
        """Since when this client has kept the server waiting for the rest of a request (None: it has not).

        Only the I/O loop calls this. While an answer is being worked on or sent, the client is not
        the one making anyone wait: the clock starts again once the server is free to read.
        """
        if self._request_begun is None:
            return None
        if self.requests or self.total_outbufs_len:
            self._request_begun = now
            return None
        return self._request_begun

    def refuse_late_request(self) -> None:
        """Answer 408 and close: the request took too long to arrive. Only the I/O loop calls this."""
        with self.outbuf_lock:
            self.outbufs[-1].append(REQUEST_TIMEOUT_ANSWER)
            self.total_outbufs_len += len(REQUEST_TIMEOUT_ANSWER)
        self._request_begun = None
        self.close_when_flushed = True

    def del_channel(self, map=None) -> None:
        registered = self._fileno in self.server.active_channels
        super().del_channel(map)
        if registered:  # closing runs this more than once; the address is released once
            self.server.connection_closed(self.addr)

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
