"""The media URL over real HTTP on a real `couchcast serve`: RFC 9110 ranges, validators, HEAD.

Every answer is checked byte for byte against the file on disk.
"""

from __future__ import annotations

import os
from email.utils import formatdate, parsedate_to_datetime

import pytest

from tests.inprocess import start_in_process
from tests.rawhttp import exchange, parse_byteranges, request_bytes, split_response

MEDIA = "/media/1/clip.mp4"


@pytest.fixture(scope="module")
def clip(media_root) -> bytes:
    return (media_root / "clip.mp4").read_bytes()


def get(server, headers: dict[str, str] | None = None, path: str = MEDIA, method: str = "GET"):
    return server.request(path, method, headers)


def ranged(server, spec: str):
    return get(server, {"Range": spec})


def test_full_file_is_200_with_its_length_and_accept_ranges(server, clip):
    response = get(server)
    assert response.status == 200
    assert response.header("Content-Length") == str(len(clip))
    assert response.header("Accept-Ranges") == "bytes"
    assert response.body == clip


def test_full_file_has_a_strong_etag(server):
    etag = get(server).header("ETag")
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2


def test_full_file_has_the_files_last_modified(server, media_root):
    last_modified = get(server).header("Last-Modified")
    mtime = int((media_root / "clip.mp4").stat().st_mtime)
    assert parsedate_to_datetime(last_modified).timestamp() == mtime


def test_mp4_is_served_as_video_mp4(server):
    assert get(server).header("Content-Type") == "video/mp4"


def test_etag_is_the_same_on_every_request(server):
    assert get(server, method="HEAD").header("ETag") == ranged(server, "bytes=0-1").header("ETag")


def test_range_first_to_last_is_206_with_exactly_those_bytes(server, clip):
    response = ranged(server, "bytes=100-199")
    assert response.status == 206
    assert response.body == clip[100:200]
    assert response.header("Content-Range") == f"bytes 100-199/{len(clip)}"
    assert response.header("Content-Length") == "100"


def test_range_open_ended_runs_to_the_end(server, clip):
    response = ranged(server, "bytes=1000-")
    assert response.status == 206
    assert response.body == clip[1000:]
    assert response.header("Content-Range") == f"bytes 1000-{len(clip) - 1}/{len(clip)}"


def test_range_suffix_is_the_last_bytes(server, clip):
    response = ranged(server, "bytes=-500")
    assert response.status == 206
    assert response.body == clip[-500:]
    assert response.header("Content-Range") == f"bytes {len(clip) - 500}-{len(clip) - 1}/{len(clip)}"


def test_range_end_past_the_file_is_clamped(server, clip):
    response = ranged(server, f"bytes={len(clip) - 10}-{len(clip) * 10}")
    assert response.status == 206
    assert response.body == clip[-10:]
    assert response.header("Content-Range") == f"bytes {len(clip) - 10}-{len(clip) - 1}/{len(clip)}"


def test_range_suffix_larger_than_file_is_the_whole_file(server, clip):
    response = ranged(server, f"bytes=-{len(clip) * 2}")
    assert response.status == 206
    assert response.body == clip
    assert response.header("Content-Range") == f"bytes 0-{len(clip) - 1}/{len(clip)}"


def test_range_zero_to_one_returns_exactly_two_bytes(server, clip):
    response = ranged(server, "bytes=0-1")
    assert (response.status, response.body, response.header("Content-Length")) == (206, clip[:2], "2")


def test_range_open_from_zero_is_206_not_200(server, clip):
    # Chromium only allows seeking when its first "bytes=0-" gets a 206 (docs/design.md).
    response = ranged(server, "bytes=0-")
    assert (response.status, response.body) == (206, clip)


def test_range_starting_at_the_end_is_416_with_the_size(server, clip):
    response = ranged(server, f"bytes={len(clip)}-")
    assert response.status == 416
    assert response.header("Content-Range") == f"bytes */{len(clip)}"


def test_range_starting_past_the_end_is_416_with_the_size(server, clip):
    response = ranged(server, f"bytes={len(clip) + 100}-{len(clip) + 200}")
    assert response.status == 416
    assert response.header("Content-Range") == f"bytes */{len(clip)}"


def test_range_zero_length_suffix_is_416(server, clip):
    response = ranged(server, "bytes=-0")
    assert response.status == 416
    assert response.header("Content-Range") == f"bytes */{len(clip)}"


@pytest.mark.parametrize(
    "spec", ["bytes=abc", "bytes=5-2", "bytes=-", "bytes=0-1-2", "bytes 0-1", "bytes=0x10-"]
)
def test_range_with_invalid_syntax_is_ignored(server, clip, spec):
    response = ranged(server, spec)
    assert (response.status, len(response.body)) == (200, len(clip))


def test_range_with_an_unknown_unit_is_ignored(server, clip):
    response = ranged(server, "lines=0-1")
    assert (response.status, len(response.body)) == (200, len(clip))


def test_range_with_a_twenty_digit_start_is_416(server):
    assert ranged(server, "bytes=" + "9" * 20 + "-").status == 416


def test_range_with_a_twenty_digit_end_is_clamped(server, clip):
    response = ranged(server, "bytes=10-" + "9" * 20)
    assert (response.status, response.body) == (206, clip[10:])


def test_range_with_a_five_thousand_digit_start_is_416_not_500(server):
    assert ranged(server, "bytes=" + "9" * 5000 + "-").status == 416


def test_range_with_a_five_thousand_digit_suffix_is_the_whole_file(server, clip):
    response = ranged(server, "bytes=-" + "9" * 5000)
    assert (response.status, response.body) == (206, clip)


def test_several_ranges_are_multipart_byteranges_sorted_and_merged(server, clip):
    response = ranged(server, "bytes=2000-2099,0-9,5-14")
    assert response.status == 206
    content_type, _, boundary = response.header("Content-Type").partition("; boundary=")
    assert content_type == "multipart/byteranges"
    assert response.header("Content-Length") == str(len(response.body))
    parts = parse_byteranges(response.body, boundary)
    assert [(p.headers["content-range"], p.body) for p in parts] == [
        (f"bytes 0-14/{len(clip)}", clip[0:15]),
        (f"bytes 2000-2099/{len(clip)}", clip[2000:2100]),
    ]


def test_multipart_parts_carry_the_media_type(server):
    response = ranged(server, "bytes=0-9,100-109")
    boundary = response.header("Content-Type").partition("; boundary=")[2]
    assert [p.headers["content-type"] for p in parse_byteranges(response.body, boundary)] == ["video/mp4"] * 2


def test_several_ranges_that_merge_into_one_are_a_single_part(server, clip):
    response = ranged(server, "bytes=0-9,10-19")
    assert (response.status, response.header("Content-Type"), response.body) == (206, "video/mp4", clip[:20])


def test_too_many_ranges_are_ignored_with_200(server, clip):
    response = ranged(server, "bytes=" + ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(200)))
    assert (response.status, len(response.body)) == (200, len(clip))


def test_ranges_adding_up_to_more_than_the_file_are_ignored_with_200(server, clip):
    response = ranged(server, "bytes=0-,0-,0-")
    assert (response.status, len(response.body)) == (200, len(clip))


def test_if_range_with_the_current_etag_gives_206(server, clip):
    etag = get(server, method="HEAD").header("ETag")
    response = get(server, {"Range": "bytes=0-1", "If-Range": etag})
    assert (response.status, response.body) == (206, clip[:2])


def test_if_range_with_the_current_date_gives_206(server, clip):
    last_modified = get(server, method="HEAD").header("Last-Modified")
    response = get(server, {"Range": "bytes=0-1", "If-Range": last_modified})
    assert (response.status, response.body) == (206, clip[:2])


def test_if_range_with_a_stale_etag_gives_the_whole_file(server, clip):
    response = get(server, {"Range": "bytes=0-1", "If-Range": '"stale-etag"'})
    assert (response.status, len(response.body)) == (200, len(clip))


def test_if_range_with_a_stale_date_gives_the_whole_file(server, clip, media_root):
    stale = formatdate((media_root / "clip.mp4").stat().st_mtime - 3600, usegmt=True)
    response = get(server, {"Range": "bytes=0-1", "If-Range": stale})
    assert (response.status, len(response.body)) == (200, len(clip))


def test_if_range_with_a_weak_etag_gives_the_whole_file(server, clip):
    etag = get(server, method="HEAD").header("ETag")
    response = get(server, {"Range": "bytes=0-1", "If-Range": "W/" + etag})
    assert (response.status, len(response.body)) == (200, len(clip))


def test_if_none_match_with_the_current_etag_is_304_carrying_the_etag(server):
    etag = get(server, method="HEAD").header("ETag")
    response = get(server, {"If-None-Match": etag})
    assert (response.status, response.body, response.header("ETag")) == (304, b"", etag)


def test_if_modified_since_the_last_change_is_304(server):
    last_modified = get(server, method="HEAD").header("Last-Modified")
    response = get(server, {"If-Modified-Since": last_modified})
    assert (response.status, response.body) == (304, b"")


def test_if_modified_since_before_the_last_change_is_200(server, clip, media_root):
    earlier = formatdate((media_root / "clip.mp4").stat().st_mtime - 3600, usegmt=True)
    assert get(server, {"If-Modified-Since": earlier}).status == 200


def test_head_has_the_same_headers_as_get(server):
    def comparable(response):
        return {k: v for k, v in response.headers.items() if k.lower() != "date"}

    assert comparable(get(server, method="HEAD")) == comparable(get(server))


def _head_then_probe(server, head_headers: dict[str, str]) -> tuple[object, bytes]:
    """HEAD then GET on one keep-alive connection: body bytes after HEAD would precede the GET answer."""
    cookie = {"Cookie": f"couchcast_key={server.key}"}
    data = exchange(
        server.port,
        request_bytes("HEAD", MEDIA, {**cookie, **head_headers})
        + request_bytes("GET", MEDIA, {**cookie, "Range": "bytes=0-1"}, close=True),
    )
    head = split_response(data)
    return head, head.rest


@pytest.mark.parametrize(
    "head_headers",
    [{}, {"Range": "bytes=10-19"}, {"Range": "bytes=0-9,100-109"}],
    ids=["full", "range", "multi"],
)
def test_head_sends_no_body_bytes(server, head_headers):
    head, after = _head_then_probe(server, head_headers)
    assert int(head.headers["content-length"]) > 0
    assert after.startswith(b"HTTP/1.1 206 "), after[:40]


def test_head_of_a_range_announces_the_range_length(server):
    head, _ = _head_then_probe(server, {"Range": "bytes=10-19"})
    assert (head.status, head.headers["content-length"]) == (206, "10")


def test_no_content_encoding_even_when_the_client_accepts_gzip(server, clip):
    response = get(server, {"Accept-Encoding": "gzip, deflate, br"})
    assert response.header("Content-Encoding") is None
    assert response.body == clip


def test_media_is_private_and_revalidated(server):
    cache_control = get(server, method="HEAD").header("Cache-Control")
    assert "private" in cache_control and "no-cache" in cache_control


def test_media_plays_inline_by_default(server):
    assert get(server, method="HEAD").header("Content-Disposition").startswith("inline")


def test_download_parameter_makes_it_an_attachment(server):
    disposition = get(server, path=MEDIA + "?download=1", method="HEAD").header("Content-Disposition")
    assert disposition == 'attachment; filename="clip.mp4"'


def test_a_file_changed_on_disk_gets_a_new_etag(server, media_root):
    before = get(server, method="HEAD").header("ETag")
    path = media_root / "clip.mp4"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert get(server, method="HEAD").header("ETag") != before
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_if_match_with_a_stale_etag_is_412(server):
    assert get(server, {"If-Match": '"stale-etag"', "Range": "bytes=0-1"}).status == 412


def test_if_unmodified_since_before_the_last_change_is_412(server, media_root):
    earlier = formatdate((media_root / "clip.mp4").stat().st_mtime - 3600, usegmt=True)
    assert get(server, {"If-Unmodified-Since": earlier}).status == 412


def test_if_none_match_wins_over_range(server):
    # RFC 9110 §13.2.2: preconditions come before Range; Chromium revalidates cached ranges this way.
    etag = get(server, method="HEAD").header("ETag")
    assert get(server, {"If-None-Match": etag, "Range": "bytes=0-1"}).status == 304


TYPES = {
    "film.webm": "video/webm",
    "film.mkv": "video/x-matroska",
    "film.MOV": "video/quicktime",
    "film.m4v": "video/mp4",
    "film.ts": "video/mp2t",
    "song.mp3": "audio/mpeg",
    "song.m4a": "audio/mp4",
    "song.flac": "audio/flac",
    "song.opus": "audio/ogg",
}


@pytest.fixture(scope="module")
def typed_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("typed")
    for name in TYPES:
        (root / name).write_bytes(os.urandom(100))
    live = start_in_process([root], tmp_path_factory.mktemp("typed-home"))
    yield live
    live.stop()


@pytest.mark.parametrize("name, expected", TYPES.items(), ids=TYPES.keys())
def test_content_type_follows_the_extension(typed_server, name, expected):
    assert typed_server.request(f"/media/1/{name}", "HEAD").header("Content-Type") == expected


def test_pipelined_ranges_on_one_connection_each_get_exactly_their_bytes(server, clip):
    cookie = {"Cookie": f"couchcast_key={server.key}"}
    spans = [(0, 65535), (100000, 100001), (len(clip) - 10, len(clip) - 1)]
    requests = [request_bytes("GET", MEDIA, {**cookie, "Range": f"bytes={a}-{b}"}) for a, b in spans]
    requests[-1] = request_bytes("GET", MEDIA, {**cookie, "Range": f"bytes={spans[-1][0]}-"}, close=True)
    rest = exchange(server.port, b"".join(requests))
    for start, end in spans:
        response = split_response(rest)
        length = int(response.headers["content-length"])
        assert (response.status, response.rest[:length]) == (206, clip[start : end + 1])
        rest = response.rest[length:]
    assert rest == b""
