"""HTTP at the byte level, for what http.client hides: bodies after HEAD, bytes that are not UTF-8,
several requests on one connection, multipart/byteranges bodies."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    rest: bytes  # everything after the header block: the body, and whatever followed it


def exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        received = bytearray()
        while chunk := connection.recv(65536):
            received += chunk
    return bytes(received)


def split_response(data: bytes) -> RawResponse:
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, rest)


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, *, close: bool = False
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes


def parse_byteranges(body: bytes, boundary: str) -> list[Part]:
    """Read a multipart/byteranges body the way a client must: each part's length from its Content-Range."""
    delimiter = b"--" + boundary.encode("latin-1")
    parts = []
    position = 0
    while True:
        position = body.index(delimiter, position) + len(delimiter)
        if body[position : position + 2] == b"--":
            assert body[position + 2 :] == b"\r\n", "nothing may follow the closing delimiter"
            return parts
        assert body[position : position + 2] == b"\r\n"
        header_end = body.index(b"\r\n\r\n", position)
        headers = {}
        for line in body[position + 2 : header_end].decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        first, last = headers["content-range"].split()[1].split("/")[0].split("-")
        start = header_end + 4
        end = start + int(last) - int(first) + 1
        assert body[end : end + 2] == b"\r\n", "a part must end where its Content-Range says"
        parts.append(Part(headers, body[start:end]))
        position = end
