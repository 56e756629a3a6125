"""The access key (docs/design.md): query, cookie or Bearer; 401 without; wrong keys slowed down."""

from __future__ import annotations

import http.client
import json
from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest

from tests.helpers import make_video
from tests.inprocess import start_in_process

MEDIA = "/media/1/clip.mp4"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("access-videos")
    make_video(root / "clip.mp4", 1)
    return root


@pytest.fixture(scope="module")
def access_server(shared, tmp_path_factory):
    live = start_in_process([shared], tmp_path_factory.mktemp("access-home"))
    yield live
    live.stop()


def anonymous(server, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    return server.request(path, method, headers, with_key=False)


def cookie_from(response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie.load(header)
    return cookie


def test_query_key_on_a_page_redirects_to_the_same_url_without_the_key(access_server):
    response = anonymous(access_server, f"/?view=grid&key={access_server.key}&name=%C3%A9t%C3%A9")
    assert response.status == 302
    assert response.header("Location") == "/?view=grid&name=%C3%A9t%C3%A9"


def test_query_key_on_a_page_sets_a_long_lived_httponly_samesite_lax_cookie(access_server):
    morsel = cookie_from(anonymous(access_server, f"/?key={access_server.key}"))["couchcast_key"]
    assert morsel.value == access_server.key
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) >= 365 * 24 * 3600
    assert morsel["path"] == "/"


def test_query_key_redirect_keeps_an_encoded_question_mark_in_the_path(access_server):
    response = anonymous(access_server, f"/watch/a%3Fb%23c?key={access_server.key}")
    assert response.header("Location") == "/watch/a%3Fb%23c"


def test_query_key_on_the_api_is_answered_directly(access_server):
    response = anonymous(access_server, f"/api/folders?key={access_server.key}")
    assert response.status == 200
    assert json.loads(response.body)["folders"][0]["id"] == 1


def test_query_key_on_media_is_answered_directly(access_server, shared):
    response = anonymous(access_server, f"{MEDIA}?key={access_server.key}", {"Range": "bytes=0-1"})
    assert (response.status, response.body) == (206, (shared / "clip.mp4").read_bytes()[:2])


def test_cookie_alone_carries_media(access_server, shared):
    response = anonymous(access_server, MEDIA, {"Cookie": f"couchcast_key={access_server.key}"})
    assert (response.status, response.body) == (200, (shared / "clip.mp4").read_bytes())


def test_cookie_alone_carries_a_page(access_server):
    assert anonymous(access_server, "/", {"Cookie": f"couchcast_key={access_server.key}"}).status == 200


def test_bearer_key_carries_the_api(access_server):
    response = anonymous(access_server, "/api/folders", {"Authorization": f"Bearer {access_server.key}"})
    assert response.status == 200


def test_bearer_key_carries_media(access_server):
    response = anonymous(
        access_server, MEDIA, {"Authorization": f"Bearer {access_server.key}", "Range": "bytes=0-1"}
    )
    assert response.status == 206


def test_no_key_on_the_api_is_401_json(access_server):
    response = anonymous(access_server, "/api/folders")
    assert response.status == 401
    assert response.header("Content-Type") == "application/json"
    assert "error" in json.loads(response.body)


def test_no_key_on_media_is_401(access_server):
    response = anonymous(access_server, MEDIA)
    assert response.status == 401
    assert b"\x00" not in response.body


def test_no_key_on_a_page_is_a_friendly_401_page_without_debug_details(access_server):
    response = anonymous(access_server, "/")
    assert response.status == 401
    assert response.header("Content-Type").startswith("text/html")
    text = response.body.decode()
    assert "Access key needed" in text
    for leak in ("Traceback", "DEBUG", "settings.py", "Django", "Request Method"):
        assert leak not in text


def test_an_empty_query_key_is_no_key(access_server):
    assert anonymous(access_server, "/api/folders?key=").status == 401


def test_a_401_is_never_stored_by_a_cache(access_server):
    assert "no-store" in anonymous(access_server, "/").header("Cache-Control")


def test_static_assets_need_no_key(access_server):
    response = anonymous(access_server, "/static/couchcast/couchcast.css")
    assert response.status == 200
    assert response.header("Content-Type").startswith("text/css")


def test_the_key_needed_page_needs_no_key(access_server):
    assert anonymous(access_server, "/key-needed").status == 200


def test_a_wrong_query_key_does_not_replace_a_right_cookie(access_server):
    response = anonymous(
        access_server, "/?key=stale-key-from-an-old-qr", {"Cookie": f"couchcast_key={access_server.key}"}
    )
    assert cookie_from(response).get("couchcast_key") is None


def test_a_key_with_non_ascii_letters_is_refused_not_an_error(access_server):
    assert anonymous(access_server, "/api/folders?key=" + quote("clé-日本")).status == 401


def from_address(server, source: str, path: str, headers: dict[str, str] | None = None) -> int:
    """The status of a request from another loopback address: another device, as far as the server knows."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_same_stale_cookie_repeated_does_not_block_the_phone(access_server):
    # A phone whose cookie holds an old key sends it with every request of a page.
    stale = {"Cookie": "couchcast_key=the-key-before-it-was-changed"}
    statuses = {from_address(access_server, "127.0.0.3", "/api/folders", stale) for _ in range(30)}
    assert statuses == {401}
    assert from_address(access_server, "127.0.0.3", f"/api/folders?key={access_server.key}") == 200


def test_a_right_key_forgets_earlier_wrong_ones(access_server):
    def guesses(start: int) -> set[int]:
        return {
            from_address(access_server, "127.0.0.4", f"/api/folders?key=typo-{n}")
            for n in range(start, start + 9)
        }

    assert guesses(0) == {401}
    assert from_address(access_server, "127.0.0.4", f"/api/folders?key={access_server.key}") == 200
    assert guesses(100) == {401}


# Slowing down wrong keys gets its own server: it blocks 127.0.0.1 for a minute.
@pytest.fixture(scope="module")
def blocked_server(shared, tmp_path_factory):
    live = start_in_process([shared], tmp_path_factory.mktemp("blocked-home"))
    for attempt in range(20):
        if anonymous(live, f"/api/folders?key=wrong-{attempt}").status == 429:
            break
    yield live
    live.stop()


def test_repeated_wrong_keys_get_429_with_retry_after(blocked_server):
    response = anonymous(blocked_server, "/api/folders?key=yet-another-guess")
    assert response.status == 429
    assert 0 < int(response.header("Retry-After")) <= 60


def test_a_blocked_address_is_refused_even_with_the_right_key(blocked_server):
    # Deliberate: answering a right key during the block would tell a guesser which guess was right.
    response = anonymous(blocked_server, "/api/folders", {"Authorization": f"Bearer {blocked_server.key}"})
    assert response.status == 429


def test_a_blocked_address_is_refused_media_even_with_the_right_cookie(blocked_server):
    # The media fast path must not serve what the access middleware would refuse.
    response = anonymous(blocked_server, MEDIA, {"Cookie": f"couchcast_key={blocked_server.key}"})
    assert response.status == 429


def test_a_blocked_address_on_a_page_gets_a_friendly_429(blocked_server):
    response = anonymous(blocked_server, "/?key=one-more-guess")
    assert response.status == 429
    assert response.header("Content-Type").startswith("text/html")
    assert "Traceback" not in response.body.decode()


def test_another_address_is_not_blocked(blocked_server):
    bearer = {"Authorization": f"Bearer {blocked_server.key}"}
    assert from_address(blocked_server, "127.0.0.2", "/api/folders", bearer) == 200
