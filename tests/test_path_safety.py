"""Nothing outside a shared folder, and nothing inside it that is not meant to be served, is ever reached.

Every trick of the issue's list is tried through the three doors a request path has: /media/,
/api/folders/<id>/items?path= and /subtitles/. A refusal is a 404 that looks like any missing file.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest

from tests.helpers import make_video
from tests.inprocess import start_in_process
from tests.rawhttp import exchange, request_bytes, split_response

SECRET = b"SECRET-BYTES-NOBODY-MAY-SEE"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A shared folder full of traps, beside an outside folder holding secrets."""
    base = tmp_path_factory.mktemp("safety")
    root, outside = base / "Shared", base / "outside"
    make_video(root / "movie.mp4", 1)
    (root / "movie.en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n\n", encoding="utf-8")
    (root / "orphan.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nAlone\n\n", encoding="utf-8")
    (root / "notes.txt").write_bytes(SECRET)
    (root / "script.sh").write_bytes(SECRET)
    (root / ".hidden.mp4").write_bytes(SECRET)
    for folder in (".hiddendir", "$RECYCLE.BIN", "System Volume Information", "@eaDir", "lost+found"):
        (root / folder).mkdir()
        (root / folder / "inside.mp4").write_bytes(SECRET)
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(SECRET)
    (outside / "secret.srt").write_bytes(SECRET)
    (outside / "secret.mp4.srt").write_bytes(SECRET)
    (root / "link_out.mp4").symlink_to(outside / "secret.mp4")
    (root / "linkdir_out").symlink_to(outside, target_is_directory=True)
    (root / "link_hidden.mp4").symlink_to(root / ".hidden.mp4")
    (root / "link_inside.mp4").symlink_to(root / "movie.mp4")
    (root / "sub").mkdir()
    (root / "sub" / "episode.mp4").write_bytes((root / "movie.mp4").read_bytes())
    os.mkfifo(root / "pipe.mp4")  # opening it would block a worker thread until a writer came
    # Names no URL can carry: one listing them must not break the listing of everything else.
    (root / "line\nbreak.mp4").write_bytes(SECRET)
    (root / "line\nbreak dir").mkdir()
    (root / "line\nbreak dir" / "inside.mp4").write_bytes(SECRET)
    with open(os.fsencode(root) + b"/latin1-caf\xe9.mp4", "wb") as latin1:
        latin1.write(SECRET)
    return root


@pytest.fixture(scope="module")
def safety_server(tree, tmp_path_factory):
    live = start_in_process([tree], tmp_path_factory.mktemp("safety-home"))
    yield live
    live.stop()


def status_and_body(server, path: str):
    response = server.request(path)
    assert SECRET not in response.body
    assert b"Traceback" not in response.body
    return response.status


def names(server, path: str = "") -> list[str]:
    response = server.request(f"/api/folders/1/items?path={quote(path)}")
    assert response.status == 200
    return [item["name"] for item in json.loads(response.body)["items"]]


# The attacks, each as a raw URL path after the folder id; they must all answer 404.
MEDIA_ATTACKS = {
    "dot_dot": "../outside/secret.mp4",
    "dot_dot_in_the_middle": "sub/../../outside/secret.mp4",
    "encoded_dot_dot": "%2e%2e/outside/secret.mp4",
    "encoded_slash": "..%2foutside%2fsecret.mp4",
    "double_encoded": "%252e%252e%252foutside%252fsecret.mp4",
    "absolute_path": "/etc/passwd",
    "encoded_absolute_path": "%2fetc%2fpasswd",
    "backslashes": "..%5coutside%5csecret.mp4",
    "raw_backslash": "sub\\..\\movie.mp4",
    "encoded_nul": "movie.mp4%00.txt",
    "nul_before_extension": "notes.txt%00.mp4",
    "symlink_to_a_file_outside": "link_out.mp4",
    "symlink_dir_outside": "linkdir_out/secret.mp4",
    "symlink_inside_to_a_hidden_file": "link_hidden.mp4",
    "hidden_file": ".hidden.mp4",
    "hidden_folder": ".hiddendir/inside.mp4",
    "recycle_bin": "$RECYCLE.BIN/inside.mp4",
    "system_volume_information": "System%20Volume%20Information/inside.mp4",
    "synology_eadir": "@eaDir/inside.mp4",
    "lost_and_found": "lost+found/inside.mp4",
    "non_media_file": "notes.txt",
    "shell_script": "script.sh",
    "subtitle_through_media": "movie.en.srt",
    "dot_segment": "./movie.mp4",
    "empty_segment": "sub//episode.mp4",
    "fifo_named_like_a_video": "pipe.mp4",
}


@pytest.mark.parametrize("attack", MEDIA_ATTACKS.values(), ids=MEDIA_ATTACKS.keys())
def test_media_refuses(safety_server, attack):
    assert status_and_body(safety_server, f"/media/1/{attack}") == 404


def test_media_serves_the_control_file(safety_server, tree):
    response = safety_server.request("/media/1/movie.mp4")
    assert (response.status, response.body) == (200, (tree / "movie.mp4").read_bytes())


def test_media_serves_a_symlink_that_stays_inside(safety_server, tree):
    response = safety_server.request("/media/1/link_inside.mp4")
    assert (response.status, response.body) == (200, (tree / "movie.mp4").read_bytes())


def test_media_refuses_a_raw_nul_byte(safety_server):
    cookie = {"Cookie": f"couchcast_key={safety_server.key}"}
    raw = request_bytes("GET", "/media/1/movie.mp4", cookie, close=True).replace(b".mp4", b"\x00.mp4", 1)
    response = split_response(exchange(safety_server.port, raw))
    assert response.status in (400, 404)
    assert SECRET not in response.rest


LISTING_ATTACKS = {
    "dot_dot": "..",
    "dot_dot_below": "sub/../..",
    "absolute_path": "/etc",
    "outside_by_absolute_path": "/tmp",
    "backslashes": "sub\\..\\..",
    "nul": "sub\x00",
    "symlink_dir_outside": "linkdir_out",
    "hidden_folder": ".hiddendir",
    "recycle_bin": "$RECYCLE.BIN",
    "system_volume_information": "System Volume Information",
    "a_file_not_a_folder": "movie.mp4",
    "missing_folder": "nope",
}


@pytest.mark.parametrize("attack", LISTING_ATTACKS.values(), ids=LISTING_ATTACKS.keys())
def test_listing_refuses(safety_server, attack):
    response = safety_server.request(f"/api/folders/1/items?path={quote(attack)}")
    assert response.status == 404
    assert "error" in json.loads(response.body)


def test_listing_refuses_an_encoded_dot_dot_decoded_twice(safety_server):
    response = safety_server.request("/api/folders/1/items?path=%252e%252e")
    assert response.status == 404


def test_listing_of_the_top_shows_media_and_folders_only(safety_server):
    assert names(safety_server) == ["sub", "link_inside.mp4", "movie.mp4"]


def test_listing_survives_names_no_url_can_carry(safety_server):
    # A newline or a non-UTF-8 byte in one file name once made the whole folder's listing a 500.
    response = safety_server.request("/api/folders/1/items?path=")
    assert response.status == 200
    assert not any(
        "break" in item["name"] or "caf" in item["name"] for item in json.loads(response.body)["items"]
    )


@pytest.mark.parametrize("path", ["line%0Abreak.mp4", "latin1-caf%E9.mp4", "line%0Abreak%20dir/inside.mp4"])
def test_media_refuses_names_no_url_can_carry(safety_server, path):
    assert status_and_body(safety_server, f"/media/1/{path}") == 404


def test_listing_of_a_sub_folder_accepts_a_trailing_slash(safety_server):
    assert names(safety_server, "sub/") == ["episode.mp4"]


def test_listing_never_offers_an_orphan_or_outside_subtitle(safety_server):
    items = json.loads(safety_server.request("/api/folders/1/items?path=").body)["items"]
    urls = [s["url"] for item in items for s in item.get("subtitles", [])]
    assert urls == ["/subtitles/1/movie.en.srt"]


SUBTITLE_ATTACKS = {
    "dot_dot": "../outside/secret.srt",
    "encoded_dot_dot": "%2e%2e/outside/secret.srt",
    "encoded_slash": "..%2foutside%2fsecret.srt",
    "absolute_path": "/etc/passwd",
    "backslashes": "..%5coutside%5csecret.srt",
    "encoded_nul": "movie.en.srt%00",
    "symlink_dir_outside": "linkdir_out/secret.mp4.srt",
    "subtitle_without_a_video_beside_it": "orphan.srt",
    "a_video_through_subtitles": "movie.mp4",
    "non_media_file": "notes.txt",
    "hidden_folder": ".hiddendir/inside.srt",
}


@pytest.mark.parametrize("attack", SUBTITLE_ATTACKS.values(), ids=SUBTITLE_ATTACKS.keys())
def test_subtitles_refuse(safety_server, attack):
    assert status_and_body(safety_server, f"/subtitles/1/{attack}") == 404


def test_subtitles_serve_the_control_file_as_webvtt(safety_server):
    response = safety_server.request("/subtitles/1/movie.en.srt")
    assert response.status == 200
    assert response.body.startswith(b"WEBVTT")


BAD_FOLDER_IDS = {"zero": "0", "minus_one": "-1", "unknown": "999999", "letters": "abc", "huge": "9" * 30}
BAD_FOLDER_IDS["five_thousand_digits"] = "9" * 5000


@pytest.mark.parametrize("folder_id", BAD_FOLDER_IDS.values(), ids=BAD_FOLDER_IDS.keys())
def test_bad_folder_id_is_404_for_media(safety_server, folder_id):
    assert status_and_body(safety_server, f"/media/{folder_id}/movie.mp4") == 404


@pytest.mark.parametrize("folder_id", BAD_FOLDER_IDS.values(), ids=BAD_FOLDER_IDS.keys())
def test_bad_folder_id_is_404_json_for_the_api(safety_server, folder_id):
    response = safety_server.request(f"/api/folders/{folder_id}/items?path=")
    assert response.status == 404
    assert "error" in json.loads(response.body)


@pytest.mark.parametrize("folder_id", BAD_FOLDER_IDS.values(), ids=BAD_FOLDER_IDS.keys())
def test_bad_folder_id_is_404_for_subtitles(safety_server, folder_id):
    assert status_and_body(safety_server, f"/subtitles/{folder_id}/movie.en.srt") == 404


def test_file_deleted_between_listing_and_streaming_is_404(safety_server, tree):
    doomed = tree / "sub" / "doomed.mp4"
    doomed.write_bytes((tree / "movie.mp4").read_bytes())
    items = json.loads(safety_server.request("/api/folders/1/items?path=sub").body)["items"]
    (url,) = [item["stream_url"] for item in items if item["name"] == "doomed.mp4"]
    doomed.unlink()
    assert status_and_body(safety_server, url) == 404


def test_file_renamed_between_listing_and_streaming_is_404(safety_server, tree):
    moving = tree / "sub" / "moving.mp4"
    moving.write_bytes((tree / "movie.mp4").read_bytes())
    items = json.loads(safety_server.request("/api/folders/1/items?path=sub").body)["items"]
    (url,) = [item["stream_url"] for item in items if item["name"] == "moving.mp4"]
    moving.rename(tree / "sub" / "moved.mp4")
    try:
        assert status_and_body(safety_server, url) == 404
    finally:
        (tree / "sub" / "moved.mp4").unlink()


def test_folder_deleted_between_listing_and_listing_it_is_404(safety_server, tree):
    (tree / "gone").mkdir()
    assert "gone" in names(safety_server)
    os.rmdir(tree / "gone")
    assert safety_server.request("/api/folders/1/items?path=gone").status == 404


@pytest.mark.parametrize(
    "name", ["a b#c%d?e é 日本.mp4", "100% & more+plus;semi=eq.mp4", "Ünïcödé/Épisode #1?.mp4"]
)
def test_stream_url_of_an_odd_name_serves_that_file(safety_server, tree, name):
    path = tree / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(1000))
    try:
        folder = os.path.dirname(name)
        items = json.loads(safety_server.request(f"/api/folders/1/items?path={quote(folder)}").body)["items"]
        (url,) = [item["stream_url"] for item in items if item["name"] == os.path.basename(name)]
        response = safety_server.request(url, headers={"Range": "bytes=0-9"})
        assert (response.status, response.body) == (206, path.read_bytes()[:10])
    finally:
        path.unlink()
