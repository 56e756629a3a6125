"""One runtime per server: two servers in one process, with different keys and folders, never see
each other's key, folders, files or conversions, and stopping one leaves the other serving."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import make_video
from tests.inprocess import start_in_process


@pytest.fixture
def two_servers(django_home, tmp_path):
    films, music = tmp_path / "Films", tmp_path / "Holidays"
    make_video(films / "film.mp4", 2)
    make_video(music / "beach.mp4", 2)
    first = start_in_process([films], tmp_path / "home-1", key="first-server-key-0123")
    second = start_in_process([music], tmp_path / "home-2", key="second-server-key-0123")
    yield first, second
    second.stop()
    first.stop()


def folder_ids(server) -> dict[str, int]:
    body = server.request("/api/folders").body
    import json

    return {folder["name"]: folder["id"] for folder in json.loads(body)["folders"]}


def test_each_server_lists_only_its_own_folders(two_servers):
    first, second = two_servers
    assert list(folder_ids(first)) == ["Films"]
    assert list(folder_ids(second)) == ["Holidays"]


def test_a_key_opens_only_its_own_server(two_servers):
    first, second = two_servers
    wrong = {"Cookie": f"couchcast_key={second.key}"}
    assert first.request("/api/folders", headers=wrong, with_key=False).status == 401
    assert second.request("/api/folders").status == 200


def test_a_folder_of_one_server_is_not_reachable_through_the_other(two_servers):
    first, second = two_servers
    films_id = folder_ids(first)["Films"]
    assert first.request(f"/media/{films_id}/film.mp4", headers={"Range": "bytes=0-9"}).status == 206
    assert second.request(f"/media/{films_id}/film.mp4", headers={"Range": "bytes=0-9"}).status == 404
    assert second.request(f"/api/folders/{films_id}/items").status == 404


def test_each_server_has_its_own_wrong_key_record(two_servers):
    first, second = two_servers
    address = "192.0.2.7"
    for guess in range(12):
        first.request("/api/folders", headers={"Cookie": f"couchcast_key=guess-{guess}"}, with_key=False,
                      address=address)  # fmt: skip
    assert first.request("/api/folders", address=address).status == 429
    assert second.request("/api/folders", address=address).status == 200


def test_each_server_owns_its_parts(two_servers):
    first, second = two_servers
    a, b = first.runtime, second.runtime
    for part in ("keys", "shares", "index", "scanner", "scheduler", "timelines", "thumbnails", "config_file"):
        assert getattr(a, part) is not getattr(b, part), part
    assert a.dirs.cache != b.dirs.cache


def test_stopping_one_server_leaves_the_other_serving(two_servers):
    first, second = two_servers
    first.stop()
    assert not first.handle.is_running()
    assert second.handle.is_running()
    holidays = folder_ids(second)["Holidays"]
    assert second.request(f"/media/{holidays}/beach.mp4", headers={"Range": "bytes=0-9"}).status == 206
    # The second server's scanner still runs; only the first one's threads ended.
    alive = {t for t in threading.enumerate() if t.is_alive()}
    assert second.runtime.scanner._thread in alive
    assert first.runtime.scanner._thread not in alive


def test_a_server_stopped_twice_stops_once(two_servers):
    first, _ = two_servers
    first.stop()
    first.stop()
