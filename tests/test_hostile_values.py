"""Hostile values on a real server: numbers, bodies, query strings and file names that once made a
500 for everyone or a listing that could not be opened.

A progress report is checked before it is saved, a row already stored is checked before it is shown,
a body or query string that cannot be right is a 4xx, and a file name is listed if and only if it can
be opened (a backslash is a name character on POSIX, never a way out of the shared folder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import PROJECT_ROOT, LiveServer, csrf_for, described, items, make_video

CLIP = "clip.mp4"  # 3 s; progress reports are posted for it
STORED = "stored.mp4"  # its progress row is written straight into the database
BACKSLASHED = "back\\slash.mp4"
ESCAPE_BY_NAME = "a\\..\\..\\outside\\secret.mp4"  # one file name on POSIX, inside the shared folder
SECRET = b"SECRET-BYTES-NOBODY-MAY-SEE"
PAGES = ("/", "/library/1/", f"/search?q={STORED[:-4]}", f"/watch/1/{STORED}", "/api/folders/1/items?path=")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A shared folder with a probed clip, a name with backslashes, and a secret beside the folder."""
    base = tmp_path_factory.mktemp("hostile")
    root, outside = base / "Shared", base / "outside"
    make_video(root / CLIP, 3)
    for name in (STORED, BACKSLASHED, ESCAPE_BY_NAME):
        shutil.copy(root / CLIP, root / name)
    (root / "back\\slash.en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n\n", encoding="utf-8")
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(SECRET)
    return root


def post_progress(server: LiveServer, body: bytes):
    cookie, token = csrf_for(server, CLIP)
    headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": token}
    return server.request("/api/progress", "POST", headers, body=body)


def report(**fields) -> bytes:
    return json.dumps({"folder_id": 1, "path": CLIP, "position": 1.5, "duration": 3.0, **fields}).encode()


def strict_json(body: bytes):
    """JSON as a browser's JSON.parse reads it: Infinity and NaN are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def player_data(server: LiveServer, path: str) -> dict:
    """What the player page hands its script, read as strictly as the script reads it."""
    page = server.request(f"/watch/1/{quote(path)}")
    assert page.status == 200
    blob = page.body.decode().split('<script id="player-data" type="application/json">')[1]
    return strict_json(blob.split("</script>")[0])


def database_home(server) -> Path:
    """The COUCHCAST_HOME whose database the server uses: its own for a server process; for a server
    in this process, the one Django was set up with here."""
    if isinstance(server, LiveServer):
        return server.home
    from django.conf import settings

    return Path(settings.DATABASES["default"]["NAME"]).parent.parent


# How an older version (or any other writer) puts a row into the server's database: the ORM, in a
# process of its own on the same COUCHCAST_HOME, while the server runs.
ROW_WRITER = """
import sys
from django.utils import timezone
from server.app import setup_django

setup_django()
from server.library.models import MediaFile, WatchProgress

path, position, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
WatchProgress.objects.update_or_create(
    folder_id=1, path=path, defaults={"position": position, "updated": timezone.now()}
)
MediaFile.objects.filter(folder_id=1, path=path).update(duration=duration)
"""


def store_row(server: LiveServer, path: str, position: float, duration: float) -> None:
    environment = {**os.environ, "COUCHCAST_HOME": str(database_home(server))}
    command = [sys.executable, "-c", ROW_WRITER, path, repr(position), repr(duration)]
    subprocess.run(command, cwd=PROJECT_ROOT, env=environment, check=True, timeout=60)


# --- Progress reports are checked before they are saved -------------------------------------------


def test_a_position_of_1e308_is_refused_with_a_400_that_names_it(library_server):
    """The report that once made "/", "/library/" and "/search" a 500 for everyone is refused, and
    the pages stay up."""
    response = post_progress(library_server, report(position=1e308))
    assert response.status == 400
    assert "position" in strict_json(response.body)["error"]
    for page in PAGES:
        assert library_server.request(page).status == 200, page


def test_a_position_past_the_end_of_a_probed_file_is_refused(library_server):
    """The index knows the clip lasts 3 s: a position of 1,000 s is no place in it."""
    described(library_server, CLIP)
    response = post_progress(library_server, report(position=1000.0, duration=1000.0))
    assert response.status == 400
    assert "past the end" in strict_json(response.body)["error"]


def test_a_position_within_the_file_is_saved(library_server):
    """The control: a real report of a real player is accepted."""
    described(library_server, CLIP)
    response = post_progress(library_server, report(position=2.0, duration=3.02))
    assert (response.status, strict_json(response.body)["position"]) == (200, 2.0)


# Reports the old code took and saved (a value dropped, a boolean taken for a number, text for true).
IMPOSSIBLE_REPORTS = {
    "position_over_a_week": report(position=9e9),
    "negative_duration": report(duration=-5),
    "infinite_duration": report(duration=float("inf")),  # json.dumps writes Infinity
    "duration_as_text": report(duration="long"),
    "duration_as_a_boolean": report(duration=True),
    "ended_as_text": report(ended="false"),
    "ended_as_a_number": report(ended=1),
    "folder_id_as_a_boolean": report(folder_id=True),
}


@pytest.mark.parametrize("body", IMPOSSIBLE_REPORTS.values(), ids=IMPOSSIBLE_REPORTS.keys())
def test_a_report_with_an_impossible_value_is_a_400_with_a_json_error(library_server, body):
    """Each value the old code saved anyway (dropped, or read as another) is now refused, in JSON."""
    response = post_progress(library_server, body)
    assert response.status == 400
    assert strict_json(response.body)["error"]


# Refused before the checks were rewritten too (but for the 400 digits, once a 500 in math.isfinite);
# kept so that the rewrite can never let them through.
NOT_A_TIME = {
    "nan": b'{"folder_id": 1, "path": "clip.mp4", "position": NaN}',
    "infinity": b'{"folder_id": 1, "path": "clip.mp4", "position": Infinity}',
    "1e400": b'{"folder_id": 1, "path": "clip.mp4", "position": 1e400}',
    "400_digits": b'{"folder_id": 1, "path": "clip.mp4", "position": 1' + b"0" * 400 + b"}",
    "negative": report(position=-1),
    "boolean": report(position=True),
    "text": report(position="12"),
    "missing": b'{"folder_id": 1, "path": "clip.mp4"}',
}


@pytest.mark.parametrize("body", NOT_A_TIME.values(), ids=NOT_A_TIME.keys())
def test_a_position_that_is_not_a_time_is_a_400_naming_the_position(library_server, body):
    """Not-a-number, infinite, negative, boolean, text or missing positions: a 400 naming "position"."""
    response = post_progress(library_server, body)
    assert response.status == 400
    assert "position" in strict_json(response.body)["error"]


# --- Rows already stored never break a page --------------------------------------------------------

BAD_ROWS = {
    "position_1e308": (1e308, 3.0),
    "position_infinite": (float("inf"), 3.0),
    "duration_infinite": (2.0, float("inf")),
}


@pytest.mark.parametrize("position, duration", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_already_stored_lets_every_page_render(library_server, position, duration):
    """A row an older version wrote (or a file's duration stored as infinity) never makes a 500, and
    the API and the player's data stay JSON a browser can parse."""
    described(library_server, STORED)
    store_row(library_server, STORED, position, duration)
    for page in PAGES:
        response = library_server.request(page)
        assert response.status == 200, page
    strict_json(library_server.request("/api/folders/1/items?path=").body)
    player_data(library_server, STORED)


def test_a_stored_position_past_the_end_of_the_file_is_not_offered(library_server):
    """A file replaced by a shorter one (or a row of an older version): a resume at 50:00 of a 3 s
    clip is not offered, and the page still opens."""
    described(library_server, STORED)
    store_row(library_server, STORED, 3000.0, 3.0)
    assert player_data(library_server, STORED)["resume"] == 0
    assert items(library_server)[STORED]["position"] == 0


# --- Bodies and query strings that are not what they claim -----------------------------------------


@pytest.mark.parametrize("body", [b"[" * 4000, b'{"":' * 1000], ids=["arrays", "objects"])
def test_a_deeply_nested_body_is_a_400_not_a_recursion_error(library_server, body):
    """4 KiB of nesting is deeper than Python's parser recurses: once a RecursionError and a 500."""
    response = post_progress(library_server, body)
    assert response.status == 400
    assert strict_json(response.body)["error"]


HUGE = "9" * 5000  # Python refuses int() of more than 4,300 digits
# (path, status) for each kind of URL and query parameter the API and the pages read.
ODD_REQUESTS = {
    "api_items_huge_folder_id": (f"/api/folders/{HUGE}/items?path=", 404),
    "api_items_path_not_utf8": ("/api/folders/1/items?path=%FF", 404),
    "api_items_path_repeated": ("/api/folders/1/items?path=nope&path=", 200),
    "api_items_sort_not_utf8": ("/api/folders/1/items?sort=%FF&sort=%FE", 200),
    "api_items_huge_path": (f"/api/folders/1/items?path={HUGE}", 404),
    "library_huge_folder_id": (f"/library/{HUGE}/", 404),
    "library_sort_not_utf8": ("/library/1/?sort=%FF", 200),
    "library_huge_folder_name": (f"/library/1/{HUGE}", 404),
    "watch_huge_folder_id": (f"/watch/{HUGE}/{CLIP}", 404),
    "thumbnail_huge_folder_id": (f"/thumbnails/{HUGE}/{CLIP}", 404),
    "thumbnail_version_repeated": (f"/thumbnails/1/{CLIP}?v=%FF&v=", 200),
    "search_not_utf8": ("/search?q=%FF%FE", 200),
    "search_repeated": ("/search?q=clip&q=%00", 200),
    "search_huge": (f"/search?q={HUGE}", 200),
    "search_two_thousand_parameters": ("/search?" + "q=a&" * 2000, 400),
    "pair_address_not_utf8": ("/pair?address=%FF&address=", 200),
}


@pytest.mark.parametrize("path, status", ODD_REQUESTS.values(), ids=ODD_REQUESTS.keys())
def test_odd_ids_and_query_strings_get_a_fitting_answer(library_server, path, status):
    """Each kind of URL and query parameter, with what a fuzzer sends: never a 500, JSON under /api/."""
    response = library_server.request(path)
    assert response.status == status
    if path.startswith("/api/"):
        strict_json(response.body)


# --- One name rule for listing and opening --------------------------------------------------------


def test_a_name_with_a_backslash_is_listed_and_its_stream_url_serves_it(library_server, library):
    """On POSIX a backslash is part of the name: the listing gives a %5C URL, and it streams."""
    item = items(library_server)[BACKSLASHED]
    assert item["stream_url"] == "/media/1/back%5Cslash.mp4"
    response = library_server.request(item["stream_url"], headers={"Range": "bytes=0-9"})
    assert (response.status, response.body) == (206, (library / BACKSLASHED).read_bytes()[:10])


def test_a_name_with_a_backslash_opens_in_the_player_with_its_subtitles(library_server):
    """The player page and the .srt beside the file open too (every door uses the same rule)."""
    item = items(library_server)[BACKSLASHED]
    assert library_server.request(item["watch_url"]).status == 200
    (subtitle,) = item["subtitles"]
    response = library_server.request(subtitle["url"])
    assert (response.status, response.body[:6]) == (200, b"WEBVTT")


def test_the_progress_of_a_name_with_a_backslash_is_saved(library_server):
    """Resume works for such a file: the progress API accepts its path."""
    response = post_progress(library_server, report(path=BACKSLASHED))
    assert response.status == 200


def test_a_name_is_listed_if_and_only_if_it_opens(library_server, library):
    """Every odd name, one folder: what the listing shows streams, and what it leaves out is a 404."""
    folder = library / "odd"
    names = [BACKSLASHED, "colon:name.mp4", "~$lock.mp4", ".hidden.mp4", "tab\there.mp4", "plain.mp4"]
    for name in names:
        folder.mkdir(exist_ok=True)
        shutil.copy(library / CLIP, folder / name)
    listed = items(library_server, "odd")
    for name in names:
        status = library_server.request(f"/media/1/odd/{quote(name)}", headers={"Range": "bytes=0-1"}).status
        assert (f"odd/{name}" in listed) == (status == 206), (name, status)
    assert f"odd/{BACKSLASHED}" in listed


def test_a_backslash_path_is_one_name_never_a_way_out(library_server, library):
    """`a\\..\\..\\outside\\secret.mp4` is a file of that name in the shared folder: it is served,
    and the secret beside the shared folder never is."""
    response = library_server.request(f"/media/1/{quote(ESCAPE_BY_NAME)}")
    assert (response.status, response.body) == (200, (library / ESCAPE_BY_NAME).read_bytes())


WINDOWS_ESCAPES = ["..%5C..%5Coutside%5Csecret.mp4", "sub%5C..%5C..%5C..%5Coutside%5Csecret.mp4"]
DOORS = ["/media/1/", "/subtitles/1/", "/watch/1/", "/thumbnails/1/", "/library/1/"]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("escape", WINDOWS_ESCAPES, ids=["dot_dot", "below_a_folder"])
def test_windows_style_dot_dot_paths_are_refused_everywhere(library_server, door, escape):
    """`..\\..\\` in a URL is a hidden or missing name here, never a way to the secret beside the share."""
    response = library_server.request(door + escape)
    assert response.status == 404
    assert SECRET not in response.body


@pytest.mark.parametrize("escape", WINDOWS_ESCAPES, ids=["dot_dot", "below_a_folder"])
def test_windows_style_dot_dot_paths_are_refused_by_the_api(library_server, escape):
    """The same for the listing API and the progress API."""
    listing = library_server.request(f"/api/folders/1/items?path={escape}")
    saved = post_progress(library_server, report(path=escape.replace("%5C", "\\")))
    assert (listing.status, saved.status) == (404, 404)
