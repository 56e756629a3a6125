"""What one client may hold of the server: connections per address, time to send a request, request sizes.

A video server on a LAN serves a handful of phones, each with a few connections (a browser opens at
most 6 to one server). Without limits, one misbehaving or hostile device could hold every connection
the server has by opening many and sending each a request very slowly (slowloris), or make it spool
a huge request body to disk. The limits below sit far above what any real client does, and a client
past one gets an answer saying so: 503 with Retry-After (too many connections), 408 (a request that
took too long to arrive), 413 (body too large), 431 (head too large).

`GuardedServer` is waitress's TCP server with these rules: it turns away a connection from an
address that already holds MAX_CONNECTIONS_PER_ADDRESS, and closes connections that leave a request
unfinished for REQUEST_RECEIVE_TIMEOUT. A connection idle *between* requests (a paused video's
keep-alive) is still kept as long as the server's idle timeout (`server.runner.CHANNEL_TIMEOUT`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter

from waitress.server import TcpWSGIServer

log = logging.getLogger(__name__)

# The biggest body any endpoint takes is a watch-progress report (a few hundred bytes) or a UPnP
# control request (a few KiB); 64 KiB leaves a wide margin. It also keeps every body in memory:
# waitress spools a body to a temporary file only past its inbuf_overflow (512 KiB).
MAX_REQUEST_BODY_BYTES = 64 * 1024
# A phone's request head (request line, cookie, range) is under 2 KiB; the longest URL Couchcast
# makes (a deep path, every byte percent-encoded) stays under 16 KiB. waitress's default (256 KiB)
# let each half-sent head cost that much memory and a rescan of all of it on every packet.
MAX_REQUEST_HEAD_BYTES = 32 * 1024
# A browser opens at most 6 connections to one server; a computer running two browsers, VLC and a
# TV-style client stays under 30. 100 is far above that, and still lets a single address take only
# a tenth of the server's connections.
MAX_CONNECTIONS_PER_ADDRESS = 100
# A request head is one or two packets, a body a few more: 15 s covers a phone at the edge of the
# Wi-Fi losing packets through several TCP retransmissions (1 + 2 + 4 + 8 s). A new connection that
# sends nothing at all counts the same (browsers drop their own unused pre-opened connections
# after 10 s).
REQUEST_RECEIVE_TIMEOUT = 15
# How often connections are checked against REQUEST_RECEIVE_TIMEOUT and the idle timeout: a late
# request is closed at most this much after its deadline.
MAINTENANCE_INTERVAL = 1
# An address turned away may come back once its own unfinished connections have timed out.
_TOO_MANY_CONNECTIONS = b"Too many connections from this device; try again in a moment.\n"
TOO_MANY_CONNECTIONS_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nConnection: close\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
    % (REQUEST_RECEIVE_TIMEOUT, len(_TOO_MANY_CONNECTIONS), _TOO_MANY_CONNECTIONS)
)


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server, with a cap on connections per address and a deadline for each request.

    Both run on the I/O loop's thread: accepting, and `maintenance` (which waitress calls from the
    loop every `cleanup_interval` seconds). Its channels must be `server.channel.SendfileChannel`s.
    """

    def __init__(self, *args, **kwargs) -> None:
        # Before the base class starts accepting: channels report closing from the moment they exist.
        self._connections_lock = threading.Lock()
        self._connections_per_address: Counter[str] = Counter()
        super().__init__(*args, **kwargs)

    def handle_accept(self) -> None:
        # waitress's own handle_accept, with the per-address cap between accept() and the channel.
        try:
            accepted = self.accept()
            if accepted is None:
                return
            connection, address = accepted
            self.set_socket_options(connection)
        except OSError:
            # A client may be gone before its socket options are set; the server carries on.
            log.debug("accept() failed", exc_info=True)
            return
        with self._connections_lock:
            crowded = self._connections_per_address[address[0]] >= MAX_CONNECTIONS_PER_ADDRESS
            if not crowded:
                self._connections_per_address[address[0]] += 1
        if crowded:
            _turn_away(connection)
            return
        try:
            self.channel_class(self, connection, address, self.adj, map=self._map)
        except OSError:
            self.connection_closed(address)
            connection.close()

    def connection_closed(self, address: tuple) -> None:
        """A channel from `address` is gone (called by the channel, once)."""
        with self._connections_lock:
            self._connections_per_address[address[0]] -= 1
            if self._connections_per_address[address[0]] <= 0:
                del self._connections_per_address[address[0]]

    def connections_from(self, host: str) -> int:
        """How many connections `host` holds open now."""
        with self._connections_lock:
            return self._connections_per_address.get(host, 0)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # connections idle between requests for longer than channel_timeout
        for channel in list(self.active_channels.values()):
            since = channel.request_waiting_since(now)
            if since is not None and now - since > REQUEST_RECEIVE_TIMEOUT:
                channel.refuse_late_request()


def _turn_away(connection) -> None:
    """Answer 503 on a connection that gets no channel, then close it, without ever blocking the loop."""
    connection.setblocking(False)
    # Reading what the client already sent first: closing a socket with unread data sends a reset,
    # which can make the client drop the answer before reading it.
    with contextlib.suppress(OSError):
        connection.recv(MAX_REQUEST_HEAD_BYTES)
    with contextlib.suppress(OSError):
        connection.send(TOO_MANY_CONNECTIONS_ANSWER)
    connection.close()
