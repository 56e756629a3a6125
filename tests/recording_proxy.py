"""A pass-through HTTP proxy that records every request a client makes and the status it got.

The server does not log request paths, so a test that must know what a real player (mpv, GStreamer,
VLC) asked for puts this in front of the server: the player is given the proxy's address, and the
record holds each request as it reached the server (target, headers) with the server's status.
Requests and answers pass unchanged, Range and keep-alive included.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
from dataclasses import dataclass

# Headers that belong to one connection, not to the request or the answer (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Exchange:
    method: str
    target: str  # the path and query as the client sent them
    headers: dict[str, str]  # names lower-cased
    status: int


class RecordingProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler(upstream_port))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self) -> list[Exchange]:
        """The requests recorded since the last call, in the order they were answered."""
        with self._lock:
            taken, self.exchanges = self.exchanges, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _handler(self, upstream_port: int) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Forward(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError):  # the player hung up between two requests
                    super().handle()

            def do_GET(self) -> None:
                self._forward()

            def do_HEAD(self) -> None:
                self._forward()

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
                pass  # the record is the log

            def _forward(self) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
                try:
                    upstream.request(self.command, self.path, headers=headers)
                    answer = upstream.getresponse()
                    proxy._record(
                        Exchange(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            answer.status,
                        )
                    )
                    self.send_response_only(answer.status, answer.reason)
                    length = answer.getheader("Content-Length")
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    if length is None and self.command != "HEAD" and answer.status not in (204, 304):
                        # No length to delimit the body on a kept connection: end it with the body.
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    if self.command != "HEAD":
                        while chunk := answer.read(CHUNK):
                            self.wfile.write(chunk)
                except (ConnectionError, TimeoutError):
                    self.close_connection = True  # the player hung up, or the server did
                finally:
                    upstream.close()

        return Forward
