"""Clients that hold on to the server's resources: huge bodies, half-sent requests, many connections,
endless wrong keys. Each gets a clear answer (413, 431, 408, 503, 429) and a phone is still served."""

from __future__ import annotations

import contextlib
import os
import socket
import time

import pytest

from server.access.keys import (
    WRONG_KEY_WINDOW,
    WRONG_KEYS_ALLOWED,
    WrongKeys,
)
from server.connections import (
    MAX_CONNECTIONS_PER_ADDRESS,
    MAX_REQUEST_BODY_BYTES,
    MAX_REQUEST_HEAD_BYTES,
    REQUEST_RECEIVE_TIMEOUT,
)
from server.runner import CONNECTION_LIMIT
from tests.helpers import csrf_for, make_video, start_server
from tests.rawhttp import RawResponse, request_bytes, split_response

HALF_A_HEAD = b"GET /media/1/clip.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: by"


@pytest.fixture(scope="module")
def spool(tmp_path_factory):
    """The server's temporary directory: where waitress would spool a request body to disk."""
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, spool):
    shared = tmp_path_factory.mktemp("hostile-videos")
    make_video(shared / "clip.mp4", 1)
    live = start_server([shared], tmp_path_factory.mktemp("hostile-home"), env={"TMPDIR": str(spool)})
    yield live
    live.stop()


@pytest.fixture(scope="module", autouse=True)
def enough_open_files():
    """Room for a thousand client sockets in this process, whatever the shell's soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * CONNECTION_LIMIT + 500
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def connect(server, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    """A connection from `source` (any 127.x.y.z is this machine: a stand-in for another device)."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout, source_address=(source, 0))


def read_response(client: socket.socket) -> bytes:
    """Everything until the server closes the connection (or a reset ends it)."""
    received = bytearray()
    try:
        while chunk := client.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return bytes(received)


def read_one_response(client: socket.socket) -> RawResponse:
    """One response with a Content-Length on a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        assert chunk, "the connection was closed"
        received += chunk
    response = split_response(received)
    while len(response.rest) < int(response.headers["content-length"]):
        chunk = client.recv(65536)
        assert chunk, "the connection was closed"
        response.rest += chunk
    return response


def phone_range_status(server, source: str, timeout: float = 5) -> int:
    """A phone's fresh `bytes=0-1` request from `source`, answered at all within `timeout` seconds."""
    with connect(server, source, timeout) as phone:
        phone.sendall(
            request_bytes(
                "GET",
                "/media/1/clip.mp4",
                {"Range": "bytes=0-1", "Cookie": f"couchcast_key={server.key}"},
                close=True,
            )
        )
        return split_response(read_response(phone)).status


def half_open(server, count: int, source: str) -> list[socket.socket]:
    """`count` connections from `source`, each having sent half a request head, or turned away."""
    clients = []
    for _ in range(count):
        client = connect(server, source)
        with contextlib.suppress(OSError):  # turned away already
            client.sendall(HALF_A_HEAD)
        clients.append(client)
    return clients


def spooled_files(pid: int, spool) -> list[str]:
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(spool)):
            found.append(target)
    return found


# ------------------------------------------------------------------------------------ request sizes


def test_only_a_body_over_the_limit_gets_413_and_before_a_byte_of_it_is_sent(hostile_server):
    """A declared 48 MB body is refused on its header alone (nothing of it is read or stored), while a
    body just under MAX_REQUEST_BODY_BYTES still reaches the view."""
    with connect(hostile_server) as client:
        client.sendall(
            b"POST /api/progress HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (48 * 1000 * 1000)
        )
        assert split_response(read_response(client)).status == 413
    cookie, token = csrf_for(hostile_server, "clip.mp4")
    body = b'{"pad": "' + b"x" * (MAX_REQUEST_BODY_BYTES - 100) + b'"}'
    headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": token}
    response = hostile_server.request("/api/progress", "POST", headers, body=body)
    # The view's own, smaller cap answered (in JSON): the body got through the server to the view.
    assert response.header("Content-Type") == "application/json"


def test_a_chunked_body_over_the_limit_gets_413_and_never_reaches_the_disk(hostile_server, spool):
    """A chunked body (no length announced) is cut off at the limit, in memory, not spooled to a file."""
    chunk = b"x" * 32768
    sent = 0
    with connect(hostile_server) as client:
        client.sendall(
            b"POST /api/progress HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"
        )
        try:
            while sent < 2 * 1024 * 1024:
                client.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            time.sleep(0.5)  # let the server read what was sent before looking at its files
            spooled = spooled_files(hostile_server.process.pid, spool)
            client.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed before the body was all sent
            spooled = spooled_files(hostile_server.process.pid, spool)
        response = split_response(read_response(client))
    assert spooled == []
    assert response.status == 413


def test_a_request_head_over_the_limit_gets_431(hostile_server):
    """A head past MAX_REQUEST_HEAD_BYTES is refused rather than buffered up to waitress's 256 KiB."""
    with connect(hostile_server) as client:
        client.sendall(
            request_bytes(
                "GET", "/api/folders", {"X-Padding": "x" * (MAX_REQUEST_HEAD_BYTES + 1)}, close=True
            )
        )
        response = split_response(read_response(client))
    assert response.status == 431


# ------------------------------------------------------------------------------- slow and many


def test_a_phone_is_answered_while_one_address_holds_more_half_sent_requests_than_the_server_has_room(
    hostile_server,
):
    """More half-sent requests from one address than CONNECTION_LIMIT: another device still gets its range.

    Before, the server stopped accepting at its connection limit and a phone waited behind them.
    """
    hostile = half_open(hostile_server, CONNECTION_LIMIT + 100, "127.0.0.1")
    try:
        assert phone_range_status(hostile_server, "127.0.0.2") == 206
    finally:
        for client in hostile:
            client.close()


def test_connections_past_the_per_address_cap_get_503_with_retry_after(hostile_server):
    """An address holding MAX_CONNECTIONS_PER_ADDRESS gets 503 + Retry-After on the next one;
    other addresses are still served."""
    held = half_open(hostile_server, MAX_CONNECTIONS_PER_ADDRESS, "127.0.0.5")
    try:
        with connect(hostile_server, "127.0.0.5") as one_more:
            one_more.sendall(request_bytes("GET", "/static/does-not-matter.css", close=True))
            response = split_response(read_response(one_more))
        assert response.status == 503
        assert 0 < int(response.headers["retry-after"]) <= REQUEST_RECEIVE_TIMEOUT
        assert phone_range_status(hostile_server, "127.0.0.6") == 206
    finally:
        for client in held:
            client.close()


def test_a_request_left_unfinished_gets_408_while_an_idle_keep_alive_stays_open(hostile_server):
    """Half a head, or a head trickled a byte a second, is closed with 408 after REQUEST_RECEIVE_TIMEOUT;
    a keep-alive connection idle between requests (a paused video) is kept and still answers."""
    cookie = {"Cookie": f"couchcast_key={hostile_server.key}"}
    keep_alive = connect(hostile_server, "127.0.0.7", timeout=REQUEST_RECEIVE_TIMEOUT + 30)
    keep_alive.sendall(request_bytes("GET", "/media/1/clip.mp4", {"Range": "bytes=0-1", **cookie}))
    assert read_one_response(keep_alive).status == 206
    stalled = connect(hostile_server, "127.0.0.7", timeout=REQUEST_RECEIVE_TIMEOUT + 30)
    stalled.sendall(HALF_A_HEAD)
    trickling = connect(hostile_server, "127.0.0.7", timeout=REQUEST_RECEIVE_TIMEOUT + 30)
    trickling.setblocking(False)
    try:
        deadline = time.monotonic() + REQUEST_RECEIVE_TIMEOUT + 3
        trickled = b""
        for byte in (HALF_A_HEAD * 10)[: REQUEST_RECEIVE_TIMEOUT + 3]:
            if time.monotonic() > deadline:
                break
            try:
                trickling.send(bytes([byte]))
            except OSError:
                break  # closed by the server, as it should be
            with contextlib.suppress(BlockingIOError):
                trickled += trickling.recv(65536)
            time.sleep(1)
        trickling.setblocking(True)
        trickling.settimeout(15)
        trickled += read_response(trickling)
        assert trickled.startswith(b"HTTP/1.1 408")
        assert split_response(read_response(stalled)).status == 408
        keep_alive.sendall(request_bytes("GET", "/media/1/clip.mp4", {"Range": "bytes=2-3", **cookie}))
        assert read_one_response(keep_alive).status == 206
    finally:
        for client in (keep_alive, stalled, trickling):
            client.close()


# --------------------------------------------------------------------------- the wrong-key record


def test_the_wrong_key_record_forgets_expired_addresses_that_never_come_back():
    """An address that guessed once and left is dropped from memory after the window, not kept forever."""
    record = WrongKeys()
    record.record("192.168.1.20", ["a-guess"], now=1000.0)
    record.record("192.168.1.21", ["another"], now=1000.0 + WRONG_KEY_WINDOW + 1)
    assert len(record) == 1


def test_the_wrong_key_record_holds_at_most_its_capacity_oldest_out_first():
    """Past `capacity` addresses, the least recently seen is dropped; a blocked recent one stays blocked."""
    record = WrongKeys(capacity=3)
    for host in range(1, 4):
        record.record(f"10.0.0.{host}", [f"guess-{n}" for n in range(WRONG_KEYS_ALLOWED)], now=5.0 + host)
    record.record("10.0.0.9", ["one"], now=10.0)
    assert len(record) == 3
    assert record.seconds_blocked("10.0.0.1", now=11.0) == 0
    assert record.seconds_blocked("10.0.0.3", now=11.0) > 0


def test_ipv6_addresses_in_one_64_count_as_one_guesser():
    """Ten guesses from ten temporary addresses of one /64 block that /64, and not another /64. A right
    key from a neighbour in the /64 forgives only the neighbour (a phone's requests must not reset the
    count of a guesser sharing its network)."""
    prefix = "2001:db8:4:7"
    record = WrongKeys()
    for n in range(WRONG_KEYS_ALLOWED):
        record.record(f"{prefix}:{n + 1:x}::1", [f"guess-{n}"])
    record.forget(f"{prefix}::beef")
    assert record.seconds_blocked(f"{prefix}::beef") > 0
    assert record.seconds_blocked("2001:db8:4:8::1") == 0
    for n in range(WRONG_KEYS_ALLOWED):
        record.forget(f"{prefix}:{n + 1:x}::1")
    assert record.seconds_blocked(f"{prefix}::beef") == 0


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address():
    """A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: the same guesser as a.b.c.d."""
    record = WrongKeys()
    record.record("::ffff:192.168.7.7", [f"guess-{n}" for n in range(WRONG_KEYS_ALLOWED)])
    assert record.seconds_blocked("192.168.7.7") > 0
