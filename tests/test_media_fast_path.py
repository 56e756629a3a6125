"""The media fast path (server/streaming/fast_path.py): it answers plain media requests exactly as the
Django view would, and leaves every other request to Django."""

from __future__ import annotations

import io
import re

import pytest

from tests.helpers import make_video, start_server
from tests.inprocess import make_runtime

KEY = "fast-path-key"


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast-path-videos")
    make_video(root / "clip.mp4", 2)
    (root / "Ünïcode").mkdir()
    (root / "Ünïcode" / "film.mp4").write_bytes((root / "clip.mp4").read_bytes())
    (root / "notes.txt").write_text("not media")
    (root / ".hidden.mp4").write_bytes(b"hidden")
    return root


# ------------------------------------------------ in this process: which requests it takes


@pytest.fixture(scope="module")
def runtime(django_home, videos, tmp_path_factory):
    """A runtime of this test process (not started) sharing the videos, with its own key."""
    return make_runtime(tmp_path_factory.mktemp("fast-path-home"), [videos], key=KEY)


@pytest.fixture(scope="module")
def shared_here(runtime, videos):
    """The folder's URL prefix."""
    share = next(s for s in runtime.shares.shared() if s.path == str(videos))
    return f"/media/{share.id}/"


def environ(path: str, method: str = "GET", **headers: str) -> dict:
    """A WSGI environ as waitress builds it (PATH_INFO holds the URL's bytes as latin-1 letters)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "REMOTE_ADDR": "127.0.0.9",
        "wsgi.input": io.BytesIO(),
        "HTTP_COOKIE": f"couchcast_key={KEY}",
        **headers,
    }


def test_a_range_with_the_cookie_is_answered_by_the_fast_path(runtime, shared_here, videos):
    from server.streaming.fast_path import media_answer

    answer = media_answer(environ(shared_here + "clip.mp4", HTTP_RANGE="bytes=10-19"), runtime)
    assert answer is not None
    with answer.body:
        assert (answer.status, answer.body.read()) == (206, (videos / "clip.mp4").read_bytes()[10:20])
    assert answer.headers["Content-Range"].startswith("bytes 10-19/")


def test_a_bearer_key_is_enough_for_the_fast_path(runtime, shared_here):
    from server.streaming.fast_path import media_answer

    request = environ(shared_here + "clip.mp4", HTTP_AUTHORIZATION=f"Bearer {KEY}")
    del request["HTTP_COOKIE"]
    answer = media_answer(request, runtime)
    assert answer is not None and answer.status == 200
    answer.body.close()


def test_a_non_ascii_path_is_answered_by_the_fast_path(runtime, shared_here):
    from server.streaming.fast_path import media_answer

    answer = media_answer(environ(shared_here + "Ünïcode/film.mp4", "HEAD"), runtime)
    assert answer is not None and (answer.status, answer.body) == (200, None)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("no key", {"HTTP_COOKIE": ""}),
        ("a wrong key", {"HTTP_COOKIE": "couchcast_key=wrong"}),
        ("a query string", {"QUERY_STRING": "download=1"}),
        ("a POST", {"REQUEST_METHOD": "POST"}),
        ("If-None-Match", {"HTTP_IF_NONE_MATCH": '"x"'}),
        ("If-Modified-Since", {"HTTP_IF_MODIFIED_SINCE": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        ("If-Match", {"HTTP_IF_MATCH": '"x"'}),
        ("If-Unmodified-Since", {"HTTP_IF_UNMODIFIED_SINCE": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        ("a script prefix", {"SCRIPT_NAME": "/couchcast"}),
        ("a missing file", {"PATH_INFO": "gone.mp4"}),
        ("a file that is not media", {"PATH_INFO": "notes.txt"}),
        ("a hidden file", {"PATH_INFO": ".hidden.mp4"}),
        ("a way out of the folder", {"PATH_INFO": "../clip.mp4"}),
        ("a path that is not UTF-8", {"PATH_INFO": "clip\xff.mp4"}),
        ("another folder id", {"PATH_INFO": "/media/999999/clip.mp4"}),
        ("another view", {"PATH_INFO": "/subtitles/1/clip.en.srt"}),
    ],
)
def test_other_requests_are_left_to_django(runtime, shared_here, name, change):
    from server.streaming.fast_path import media_answer

    request = environ(shared_here + "clip.mp4")
    for variable, value in change.items():
        if variable == "PATH_INFO" and not value.startswith("/"):
            value = shared_here + value
        request[variable] = value
    assert media_answer(request, runtime) is None, name


def test_a_held_back_address_is_left_to_django_even_with_the_right_key(runtime, shared_here):
    from server.access import keys
    from server.streaming.fast_path import media_answer

    address = "127.0.0.77"
    runtime.keys.wrong_keys.record(address, [f"guess-{n}" for n in range(keys.WRONG_KEYS_ALLOWED)])
    try:
        assert media_answer({**environ(shared_here + "clip.mp4"), "REMOTE_ADDR": address}, runtime) is None
    finally:
        runtime.keys.wrong_keys.forget(address)


# ------------------------------------------------ on a real server: the same answer either way


@pytest.fixture(scope="module")
def live(videos, tmp_path_factory):
    server = start_server([videos], tmp_path_factory.mktemp("fast-path-home"), key=KEY)
    yield server
    server.stop()


def comparable(response) -> tuple:
    """Status, headers and body, with what differs between any two answers (date, boundary) blanked."""
    boundary = re.search(r"boundary=(\w+)", response.header("Content-Type") or "")
    body = response.body.replace(boundary.group(1).encode(), b"B") if boundary else response.body
    headers = sorted(
        (name, re.sub(r"boundary=\w+", "boundary=B", value))
        for name, value in response.headers.items()
        if name != "Date"
    )
    return response.status, headers, body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Range": "bytes=0-99"},
        {"Range": "bytes=-100"},
        {"Range": "bytes=100-"},
        {"Range": "bytes=0-9,50-59"},
        {"Range": "bytes=999999999-"},
        {"Range": "pages=1-2"},
        {"Range": "bytes=0-9", "If-Range": '"not-this-file"'},
    ],
    ids=[
        "whole",
        "first-100",
        "last-100",
        "from-100",
        "two-ranges",
        "unsatisfiable",
        "unknown-unit",
        "stale",
    ],
)
def test_the_fast_path_answers_exactly_as_the_django_view(live, method, headers):
    fast = live.request("/media/1/clip.mp4", method, headers)
    # A query string the view ignores sends the same request through Django's middleware and view.
    django = live.request("/media/1/clip.mp4?via=django", method, headers)
    assert comparable(fast) == comparable(django)
    assert fast.status in (200, 206, 416)


def test_the_served_application_puts_the_fast_path_in_front_of_django(django_home, tmp_path):
    from django.core.handlers.wsgi import WSGIHandler

    from server.streaming.fast_path import MediaFastPath
    from tests.inprocess import start_in_process

    server = start_in_process([], tmp_path)
    try:
        application = server.handle.application
    finally:
        server.stop()
    assert isinstance(application, MediaFastPath)
    assert application.runtime is server.runtime
    assert isinstance(application.application, WSGIHandler)
