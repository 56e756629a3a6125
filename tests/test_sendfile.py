"""How file bodies leave the server (server.channel.SendfileChannel): real server, real sockets, both paths.

Each test runs against a server using os.sendfile and one using plain reads (COUCHCAST_SENDFILE=0).
Socket buffers on loopback hold several MB, so the files are larger than that: what a client does
not read has to wait in the server, which is where stalls, hang-ups and shrinking files bite.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import PROJECT_ROOT, LiveServer, make_sparse, start_server

MIB = 1024 * 1024
# Much larger than what loopback socket buffers hold, so the server always has bytes left to send.
BIG = 64 * MIB


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("Films")


@pytest.fixture(scope="module", params=["sendfile", "reads"])
def streaming_server(request, films, tmp_path_factory) -> LiveServer:
    live = start_server(
        [films],
        tmp_path_factory.mktemp("home"),
        env={"COUCHCAST_SENDFILE": "1" if request.param == "sendfile" else "0"},
    )
    yield live
    live.stop()


def media_url(server: LiveServer, name: str) -> str:
    folder_id = json.loads(server.request("/api/folders").body)["folders"][0]["id"]
    return f"/media/{folder_id}/{name}"


def open_stream(
    server: LiveServer, name: str, range_header: str | None = None
) -> tuple[socket.socket, int, bytes]:
    """Send a GET on a new connection; return the socket, Content-Length and body bytes already read."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    extra = f"Range: {range_header}\r\n" if range_header else ""
    sock.sendall(
        f"GET {media_url(server, name)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: couchcast_key={server.key}\r\n{extra}\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before the response head"
        head += chunk
    head, _, body = head.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert status in (200, 206), head
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return sock, length, body


def read_to_end(sock: socket.socket, limit: int) -> int:
    """Read until the server closes (or `limit` bytes): the count. A reset counts as the end."""
    total = 0
    while total < limit:
        try:
            chunk = sock.recv(min(MIB, limit - total))
        except ConnectionResetError:
            break
        except TimeoutError:
            pytest.fail("the server neither sent more bytes nor closed the connection")
        if not chunk:
            break
        total += len(chunk)
    return total


def server_has_open(server: LiveServer, path: Path) -> bool:
    target = os.path.realpath(path)
    return any(f.path == target for f in psutil.Process(server.process.pid).open_files())


def wait_until_closed(server: LiveServer, path: Path, patience: float = 10.0) -> bool:
    """Whether the server let go of `path` within `patience` seconds (generous: the machine is shared)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not server_has_open(server, path):
            return True
        time.sleep(0.05)
    return False


def server_log(server: LiveServer) -> str:
    log = server.home / "logs" / "couchcast.log"
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def test_hanging_up_mid_range_closes_the_file_at_once(streaming_server, films):
    path = make_sparse(films / "hang-up.mp4", BIG)
    sock, length, _ = open_stream(streaming_server, path.name, "bytes=1000-")
    assert length == BIG - 1000
    sock.recv(MIB)
    assert server_has_open(streaming_server, path), "the file should be open while it is being sent"
    sock.close()  # unread bytes in our buffer: the kernel answers the server with a reset
    assert wait_until_closed(streaming_server, path)


def test_hanging_up_while_stalled_closes_the_file(streaming_server, films):
    path = make_sparse(films / "stalled-hang-up.mp4", BIG)
    sock, _, _ = open_stream(streaming_server, path.name)
    time.sleep(0.5)  # the server fills the socket buffers and waits on EAGAIN
    assert server_has_open(streaming_server, path)
    sock.close()
    assert wait_until_closed(streaming_server, path)


def test_stalled_reader_gets_every_byte_in_order_when_it_resumes(streaming_server, films):
    path = films / "stall.mp4"
    path.write_bytes(os.urandom(16 * MIB))  # real bytes: a lost or repeated chunk changes the hash
    sock, length, body = open_stream(streaming_server, path.name, "bytes=100-")
    with sock:
        time.sleep(1.0)  # read nothing: every send the server tries now meets a full socket buffer
        digest = hashlib.sha256(body)
        received = len(body)
        while received < length:
            chunk = sock.recv(MIB)
            assert chunk, "the connection ended early"
            digest.update(chunk)
            received += len(chunk)
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()[100:]).hexdigest()


def test_file_shrinking_mid_stream_ends_the_response_where_the_file_ends(streaming_server, films):
    path = make_sparse(films / "shrinks.mp4", BIG)
    shrunk_to = 24 * MIB  # more than the server can have pushed into socket buffers by then
    sock, length, body = open_stream(streaming_server, path.name)
    with sock:
        received = len(body) + read_to_end(sock, MIB)
        os.truncate(path, shrunk_to)
        # Before the fix the server neither sent nor closed (spinning on an empty read): this read
        # then hit the socket timeout instead of the end of the connection.
        received += read_to_end(sock, length)
    assert received == shrunk_to < length
    assert wait_until_closed(streaming_server, path)
    assert "A file shrank while it was being sent" in server_log(streaming_server)


def test_file_shrinking_under_a_multipart_response_ends_the_connection(streaming_server, films):
    path = make_sparse(films / "shrinks-multipart.mp4", BIG)
    sock, length, body = open_stream(streaming_server, path.name, f"bytes=0-99,{16 * MIB}-")
    with sock:
        received = len(body) + read_to_end(sock, MIB)
        os.truncate(path, 24 * MIB)
        received += read_to_end(sock, length)  # ends (short) instead of hanging on a spinning server
    # Part headers, 100 bytes, then the second part up to where the file now ends.
    assert 8 * MIB + 100 < received < length
    assert wait_until_closed(streaming_server, path)


def test_server_keeps_serving_after_hang_ups_and_shrunk_files(streaming_server, films):
    path = make_sparse(films / "after.mp4", 4 * MIB)
    for _ in range(3):
        sock, _, _ = open_stream(streaming_server, path.name)
        sock.close()
    response = streaming_server.request(
        media_url(streaming_server, path.name), headers={"Range": "bytes=0-1"}
    )
    assert (response.status, response.body) == (206, b"\0\0")
    assert "Traceback" not in server_log(streaming_server)


def test_keep_alive_ranges_on_one_connection_are_byte_exact(streaming_server, films):
    path = films / "ranges.mp4"
    data = os.urandom(4 * MIB)
    path.write_bytes(data)
    url = media_url(streaming_server, path.name)
    with socket.create_connection(("127.0.0.1", streaming_server.port), timeout=30) as sock:
        pending = b""
        for start in (0, 3 * MIB, 12345, 4 * MIB - 65536):
            sock.sendall(
                f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: couchcast_key={streaming_server.key}\r\n"
                f"Range: bytes={start}-{start + 65535}\r\n\r\n".encode()
            )
            while b"\r\n\r\n" not in pending:
                pending += sock.recv(65536)
            head, _, pending = pending.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 206")
            while len(pending) < 65536:
                chunk = sock.recv(65536)
                assert chunk, "the keep-alive connection was closed"
                pending += chunk
            body, pending = pending[:65536], pending[65536:]
            assert body == data[start : start + 65536]


def test_accepted_sockets_have_nagle_off(tmp_path):
    """TCP_NODELAY stays on, so small keep-alive responses never wait for a delayed ACK (docs/design.md).

    Another process cannot read a socket's options, so a server started by runner.start in a
    child process reports on its own end of a connection.
    """
    report = subprocess.run(
        [sys.executable, "-c", NODELAY_PROBE],
        cwd=PROJECT_ROOT,
        env={**os.environ, "COUCHCAST_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.split() == ["nodelay=1"]


NODELAY_PROBE = """
import socket, time
from server import runner
from server.dirs import user_dirs
handle = runner.start("127.0.0.1", 0, access_key="nodelay-probe-key-0123", dirs=user_dirs())
client = socket.create_connection(("127.0.0.1", handle.port))
for _ in range(500):
    channels = list(handle._server.active_channels.values())
    if channels:
        break
    time.sleep(0.01)
print("nodelay=%d" % bool(channels[0].socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
client.close()
handle.stop()
"""


def test_server_keeps_answering_with_more_open_streams_than_select_can_watch(streaming_server, films):
    """select() cannot watch descriptors above 1023; each stream holds a socket and a file."""
    path = make_sparse(films / "crowd.mp4", 8 * MIB)
    request = (
        f"GET {media_url(streaming_server, path.name)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: couchcast_key={streaming_server.key}\r\n\r\n"
    ).encode()
    server_process = psutil.Process(streaming_server.process.pid)
    streams = []
    try:
        for number in range(560):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # stalled, and cheap for the kernel
            # From 20 addresses (all loopback): one address may hold only so many connections.
            sock.bind((f"127.0.1.{number % 20 + 1}", 0))
            sock.connect(("127.0.0.1", streaming_server.port))
            sock.sendall(request)
            streams.append(sock)
        deadline = time.monotonic() + 30
        while server_process.num_fds() <= 1100 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server_process.num_fds() > 1100, "the streams did not all get their file opened"
        response = streaming_server.request(
            media_url(streaming_server, path.name), headers={"Range": "bytes=0-1"}
        )
        assert (response.status, response.body) == (206, b"\0\0")
    finally:
        for sock in streams:
            sock.close()
