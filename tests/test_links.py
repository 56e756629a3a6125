"""Signed per-file links (server.access.links) at the HTTP level: what a link opens, what it never
opens, and that the long-lived access key appears in no playlist a player is given."""

from __future__ import annotations

import re

import pytest

from server.access import links
from tests.helpers import LiveServer, make_video, playlist_uris
from tests.inprocess import start_in_process

REMUX_PLAYLIST = "/hls/1/film.mkv/remux.m3u8"
TS_PACKET = 188
LINK = re.compile(r"^(/l/[^/]+)(/.*)$")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("link-videos")
    # H.264 with AC-3 sound: remuxed (the sound converted), so it has a playlist and segments.
    gop = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50"]
    make_video(root / "film.mkv", 6, video=gop, audio=["-c:a", "ac3"])
    make_video(root / "other.mkv", 6, video=gop, audio=["-c:a", "ac3"])
    make_video(root / "My Film #1.mkv", 4, video=gop, audio=["-c:a", "ac3"])
    return root


@pytest.fixture(scope="module")
def links_server(shared, tmp_path_factory) -> LiveServer:
    live = start_in_process([shared], tmp_path_factory.mktemp("links-home"))
    yield live
    live.stop()


def first_segment(server: LiveServer, playlist_path: str = REMUX_PLAYLIST) -> str:
    response = server.request(playlist_path)
    assert response.status == 200, response.body
    return playlist_uris(response.body)[0]


def signed_prefix(uri: str) -> str:
    """`/l/<token>` of a segment URI from a playlist."""
    match = LINK.match(uri)
    assert match, uri
    return match[1]


def anonymous(server: LiveServer, path: str):
    return server.request(path, with_key=False)


def test_a_segment_link_works_with_no_cookie_and_no_header(links_server):
    """A segment URI from the playlist, asked for with nothing else: 200 and real MPEG-TS."""
    response = anonymous(links_server, first_segment(links_server))
    assert response.status == 200, response.body
    assert response.header("Content-Type") == "video/mp2t"
    body = response.body
    assert len(body) >= TS_PACKET and len(body) % TS_PACKET == 0
    assert all(body[offset] == 0x47 for offset in range(0, len(body), TS_PACKET))


def test_segment_links_of_a_name_with_spaces_and_signs_open_it(links_server):
    """Film names have spaces (and #, ?): the playlist's segment URLs are encoded once, and open."""
    uri = first_segment(links_server, "/hls/1/My%20Film%20%231.mkv/remux.m3u8")
    assert "/hls/1/My%20Film%20%231.mkv/remux-0.ts" in uri
    assert anonymous(links_server, uri).status == 200


@pytest.mark.parametrize(
    "how",
    [
        {"query": True},
        {"headers": {"Cookie": "couchcast_key=KEY"}},
        {"headers": {"Authorization": "Bearer KEY"}},
    ],
    ids=["query", "cookie", "bearer"],
)
def test_the_playlist_never_holds_the_access_key(links_server, how):
    """However the key opened the playlist, its body lists signed links and never the key itself."""
    path = REMUX_PLAYLIST + (f"?key={links_server.key}" if how.get("query") else "")
    headers = {name: value.replace("KEY", links_server.key) for name, value in how.get("headers", {}).items()}
    response = links_server.request(path, headers=headers, with_key=False)
    assert response.status == 200, response.body
    assert links_server.key.encode() not in response.body
    uris = playlist_uris(response.body)
    assert uris and all(uri.startswith(links.LINK_PREFIX) for uri in uris)


def test_a_link_opens_the_file_it_was_made_for_and_its_playlist(links_server):
    """The prefix opens that file's own URLs: its bytes and its playlist (a player that reloads it)."""
    prefix = signed_prefix(first_segment(links_server))
    assert anonymous(links_server, f"{prefix}/media/1/film.mkv").status == 200
    assert anonymous(links_server, f"{prefix}{REMUX_PLAYLIST}").status == 200


@pytest.mark.parametrize(
    "rest",
    ["/hls/1/other.mkv/remux-0.ts", "/hls/1/other.mkv/remux.m3u8", "/media/1/other.mkv"],
    ids=["segment", "playlist", "file"],
)
def test_a_link_for_one_file_does_not_open_another(links_server, rest):
    prefix = signed_prefix(first_segment(links_server))
    response = anonymous(links_server, prefix + rest)
    assert response.status == 401, response.body
    assert response.header("Cache-Control") == "no-store"


def tampered(prefix: str, part: int) -> str:
    """The prefix with one character of its viewer (0), expiry (1) or MAC (2) changed."""
    fields = prefix.removeprefix(links.LINK_PREFIX).split(".")
    value = fields[part]
    fields[part] = value[:-1] + ("a" if value[-1] != "a" else "b")
    return links.LINK_PREFIX + ".".join(fields)


@pytest.mark.parametrize("part", [0, 1, 2], ids=["viewer", "expiry", "mac"])
def test_a_tampered_link_is_refused(links_server, part):
    uri = first_segment(links_server)
    rest = LINK.match(uri)[2]
    assert anonymous(links_server, tampered(signed_prefix(uri), part) + rest).status == 401


def test_an_expired_link_is_refused(links_server):
    """A link signed with the server's own key for this very file, but past its lifetime: 401."""
    expired = links.token(links_server.key, 1, "film.mkv", links.new_viewer(), lifetime=-1)
    fresh = links.token(links_server.key, 1, "film.mkv", links.new_viewer())
    assert anonymous(links_server, f"/l/{fresh}/hls/1/film.mkv/remux-0.ts").status == 200
    assert anonymous(links_server, f"/l/{expired}/hls/1/film.mkv/remux-0.ts").status == 401


@pytest.mark.parametrize(
    "rest",
    [
        "/api/folders",
        "/api/folders/1/items?path=",
        "/api/playback/1?path=film.mkv",
        "/",
        "/watch/1/film.mkv",
    ],
    ids=["api-folders", "api-items", "api-playback", "library-page", "player-page"],
)
def test_a_link_never_opens_the_api_or_a_page(links_server, rest):
    """Even a valid link, for a file, opens none of the JSON API and no page."""
    prefix = signed_prefix(first_segment(links_server))
    response = anonymous(links_server, prefix + rest)
    assert response.status == 401, response.body


def test_refused_links_are_not_counted_as_wrong_keys(links_server):
    """A link holds no key to guess: many refused links from one address never block that address
    (more than keys.WRONG_KEYS_ALLOWED different wrong keys would)."""
    uri = first_segment(links_server)
    rest = LINK.match(uri)[2]
    for number in range(15):
        forged = links.token(f"guess-{number}", 1, "film.mkv", links.new_viewer())
        assert anonymous(links_server, f"/l/{forged}{rest}").status == 401
    assert links_server.request(REMUX_PLAYLIST).status == 200


def test_links_stop_working_once_the_access_key_is_changed(shared, tmp_path):
    """The same COUCHCAST_HOME restarted with another --access-key: a link from before is refused,
    and the new playlist's links work."""
    home = tmp_path / "home"
    before = start_in_process([shared], home, key="the-key-before-0123456789")
    try:
        old_uri = first_segment(before)
        assert anonymous(before, old_uri).status == 200
    finally:
        before.stop()
    after = start_in_process([shared], home, key="the-key-after-0123456789")
    try:
        assert anonymous(after, old_uri).status == 401
        assert anonymous(after, first_segment(after)).status == 200
    finally:
        after.stop()
