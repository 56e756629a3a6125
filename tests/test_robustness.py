"""Bad input and bad clients: never a 500, never a traceback, never a starved server or a leaked file."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import time

import pytest

from tests.helpers import make_sparse, make_video, start_server, tmpfs
from tests.rawhttp import exchange, request_bytes, split_response

BIG = "/media/1/big.mp4"
DEBUG_PAGE_MARKERS = (b"Traceback", b"DEBUG = True", b"Request Method:", b"django.", b'File "')


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust-videos")
    make_video(root / "clip.mp4", 1)
    make_sparse(root / "big.mp4", 256 * 1024 * 1024)
    return root


@pytest.fixture(scope="module")
def robust_server(shared, tmp_path_factory):
    live = start_server([shared], tmp_path_factory.mktemp("robust-home"))
    yield live
    live.stop()


def cookie(server) -> dict[str, str]:
    return {"Cookie": f"couchcast_key={server.key}"}


def raw(server, request: bytes):
    response = split_response(exchange(server.port, request))
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in response.rest
    return response


def open_files_named(pid: int, name: str) -> list[str]:
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while we looked
        if target.endswith(name):
            found.append(target)
    return found


def wait_until_closed(server, name: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (still_open := open_files_named(server.process.pid, name)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return still_open


def start_big_download(server, *, receive_buffer: int | None = None) -> socket.socket:
    client = socket.socket()
    if receive_buffer:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    client.connect(("127.0.0.1", server.port))
    client.sendall(request_bytes("GET", BIG, cookie(server)))
    return client


def small_range_answered(server) -> bool:
    response = server.request("/media/1/clip.mp4", headers={"Range": "bytes=0-1"})
    return response.status == 206 and len(response.body) == 2


ODD_REQUESTS = {
    "utf8_invalid_percent_in_query": "/api/folders/1/items?path=%ff%fe",
    "utf8_invalid_percent_in_query_name": "/api/folders?%ff=%fe",
    "utf8_invalid_percent_in_page_query": "/?x=%c3%28",
    "utf8_invalid_percent_in_media_path": "/media/1/%ff%fe.mp4",
    "utf8_overlong_slash": "/media/1/%c0%af..%c0%afetc%c0%afpasswd",
    "utf8_invalid_percent_in_subtitle_path": "/subtitles/1/%ff.srt",
    "lone_percent": "/api/folders/1/items?path=%",
    "very_long_path": "/media/1/" + "a" * 5000 + ".mp4",
}


@pytest.mark.parametrize("path", ODD_REQUESTS.values(), ids=ODD_REQUESTS.keys())
def test_odd_request_is_a_clean_4xx_or_empty_answer(robust_server, path):
    response = raw(robust_server, request_bytes("GET", path, cookie(robust_server), close=True))
    assert response.status in (200, 400, 404)


RAW_BYTES = {
    "invalid_utf8_in_query": b"/api/folders/1/items?path=\xff\xfe",
    "invalid_utf8_in_path": b"/media/1/\xff.mp4",
    "valid_utf8_sent_raw": "/media/1/é.mp4".encode(),
}


@pytest.mark.parametrize("target", RAW_BYTES.values(), ids=RAW_BYTES.keys())
def test_raw_non_ascii_bytes_in_the_request_line_are_a_4xx(robust_server, target):
    request = request_bytes("GET", "TARGET", cookie(robust_server), close=True).replace(b"TARGET", target)
    assert 400 <= raw(robust_server, request).status < 500


def test_invalid_utf8_in_the_cookie_is_401(robust_server):
    request = (
        b"GET /api/folders HTTP/1.1\r\nHost: x\r\nCookie: couchcast_key=\xff\xfe\r\nConnection: close\r\n\r\n"
    )
    assert raw(robust_server, request).status == 401


def test_invalid_utf8_in_a_bearer_key_is_401(robust_server):
    request = (
        b"GET /api/folders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\r\nConnection: close\r\n\r\n"
    )
    assert raw(robust_server, request).status == 401


@pytest.mark.parametrize("header", [b"Range: bytes=\xff-", b"If-Range: \xff", b"If-Modified-Since: \xff\xfe"])
def test_invalid_bytes_in_range_headers_are_ignored(robust_server, header):
    request = request_bytes("HEAD", "/media/1/clip.mp4", cookie(robust_server), close=True)
    assert raw(robust_server, request.replace(b"\r\n\r\n", b"\r\n" + header + b"\r\n\r\n")).status == 200


def test_a_bad_host_header_is_400(robust_server):
    request = b"GET /api/folders HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n"
    assert raw(robust_server, request).status == 400


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_media_are_405(robust_server, method):
    response = robust_server.request("/media/1/clip.mp4", method, body=b"x" if method != "OPTIONS" else None)
    assert response.status == 405
    assert response.header("Allow") == "GET, HEAD"


@pytest.mark.parametrize("path", ["/api/folders", "/subtitles/1/none.srt"])
def test_post_elsewhere_read_only_is_405_not_403(robust_server, path):
    assert robust_server.request(path, "POST", body=b"{}").status == 405


@pytest.mark.parametrize(
    "path", ["/api/folders", "/", "/api/folders/999/items", "/nowhere", "/static/couchcast/couchcast.css"]
)
def test_head_sends_no_body_on_any_url(robust_server, path):
    # HEAD then GET on one connection: any body bytes after the HEAD would come before the GET's answer.
    data = exchange(
        robust_server.port,
        request_bytes("HEAD", path, cookie(robust_server))
        + request_bytes(
            "GET", "/media/1/clip.mp4", {**cookie(robust_server), "Range": "bytes=0-1"}, close=True
        ),
    )
    head = split_response(data)
    assert head.rest.startswith(b"HTTP/1.1 206 "), head.rest[:60]


def test_head_announces_the_length_a_get_would_have(robust_server):
    get = robust_server.request("/api/folders")
    head = robust_server.request("/api/folders", "HEAD")
    assert head.header("Content-Length") == str(len(get.body))


def test_sixty_four_half_sent_requests_do_not_block_a_normal_one(robust_server):
    half_sent = []
    try:
        for _ in range(64):
            client = socket.create_connection(("127.0.0.1", robust_server.port))
            client.sendall(b"GET /media/1/clip.mp4 HTTP/1.1\r\nHost: x\r\nRange: by")
            half_sent.append(client)
        assert small_range_answered(robust_server)
    finally:
        for client in half_sent:
            client.close()


def test_readers_that_stall_do_not_starve_other_requests(robust_server):
    # More stalled readers than worker threads: each would pin a thread if bodies were not sent from the loop.
    stalled = [start_big_download(robust_server, receive_buffer=4096) for _ in range(24)]
    try:
        time.sleep(0.3)  # let every stalled response fill its socket buffers
        assert small_range_answered(robust_server)
        assert robust_server.request("/api/folders").status == 200
    finally:
        for client in stalled:
            client.close()


def test_a_client_hanging_up_mid_stream_frees_the_file(robust_server):
    client = start_big_download(robust_server)
    assert client.recv(65536)
    assert open_files_named(robust_server.process.pid, "big.mp4")
    client.close()
    assert wait_until_closed(robust_server, "big.mp4") == []


def test_a_client_resetting_mid_stream_frees_the_file(robust_server):
    client = start_big_download(robust_server, receive_buffer=4096)
    assert client.recv(4096)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
    client.close()
    assert wait_until_closed(robust_server, "big.mp4") == []


def test_a_completed_range_leaves_no_file_open(robust_server):
    assert small_range_answered(robust_server)
    assert wait_until_closed(robust_server, "clip.mp4") == []


def test_a_head_leaves_no_file_open(robust_server):
    assert robust_server.request(BIG, "HEAD").status == 200
    assert wait_until_closed(robust_server, "big.mp4") == []


def test_the_server_still_answers_after_all_of_this(robust_server):
    assert small_range_answered(robust_server)
    assert robust_server.process.poll() is None


@pytest.fixture(scope="module")
def far_future(shared, robust_server):
    """A sub-folder on a real tmpfs (64-bit times; ext4 stops at 2446) holding a file dated year 36812."""
    with tmpfs(shared / "Far future", "4m") as folder:
        shutil.copy(shared / "clip.mp4", folder / "dated.mp4")
        os.utime(folder / "dated.mp4", (0, 2**40))
        yield folder / "dated.mp4"


def test_a_file_dated_past_year_9999_is_listed_with_an_unknown_date(robust_server, far_future):
    response = robust_server.request("/api/folders/1/items?path=Far%20future")
    assert response.status == 200
    (item,) = json.loads(response.body)["items"]
    assert (item["name"], item["modified"]) == ("dated.mp4", None)


def test_a_file_dated_past_year_9999_still_streams_without_last_modified(robust_server, far_future):
    response = robust_server.request("/media/1/Far%20future/dated.mp4", headers={"Range": "bytes=0-1"})
    assert (response.status, response.body) == (206, far_future.read_bytes()[:2])
    assert response.header("Last-Modified") is None


def test_an_if_range_date_never_matches_a_file_without_a_date(robust_server, far_future):
    headers = {"Range": "bytes=0-1", "If-Range": "not a date"}
    assert robust_server.request("/media/1/Far%20future/dated.mp4", headers=headers).status == 200


def test_head_of_a_static_asset_announces_its_length(robust_server):
    get = robust_server.request("/static/couchcast/couchcast.css")
    head = robust_server.request("/static/couchcast/couchcast.css", "HEAD")
    assert head.header("Content-Length") == str(len(get.body)) != "0"
