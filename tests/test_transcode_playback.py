"""Files Chromium cannot play as they are play through playback.js (remux or transcode over HLS), seek,
and leave no ffmpeg process behind; errors are JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import psutil
import pytest

from server.ffmpeg import ffmpeg_binary
from tests.helpers import PROJECT_ROOT, keyed_context, make_video, start_server
from tests.transcode_media import repeat_video

GOP = ["-g", "48"]  # a keyframe every ~2 s, as in films people have
ADD_VIDEO = """() => {
  const video = document.createElement('video');
  video.id = 'player';
  video.muted = true;
  video.controls = true;
  document.body.appendChild(video);
}"""
START = """(path) => Couchcast.startPlayback(document.getElementById('player'), {folder: %d, path})
  .then((answer) => { document.getElementById('player').play(); return answer; })"""
PLAYING_PAST = "(seconds) => document.getElementById('player').currentTime > seconds"
HLS_JS = PROJECT_ROOT / "server" / "transcode" / "static" / "couchcast" / "vendor" / "hls.min.js"
# A browser without native HLS (desktop Firefox): Chromium with its HLS answer taken away.
NO_NATIVE_HLS = """() => {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? '' : canPlayType.call(this, type);
  };
}"""
PLAYING_ON_AFTER = """(seconds) => {
  const video = document.getElementById('player');
  return !video.seeking && !video.paused && video.currentTime > seconds;
}"""


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("Films")
    ffmpeg = ffmpeg_binary()
    plain_mkv = make_video(
        root / "parts" / "plain.mkv",
        20,
        video=["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *GOP],
        audio=["-c:a", "ac3"],
    )
    srt = root / "parts" / "subs.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:04,000\nHello from inside\n\n", encoding="utf-8")
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(plain_mkv), "-i", str(srt), "-map", "0", "-map", "1",
         "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=eng", str(root / "film.mkv")],
        check=True,
    )  # fmt: skip
    make_video(root / "film.avi", 20, video=["-c:v", "mpeg4", "-q:v", "5"], audio=["-c:a", "libmp3lame"])
    make_video(
        root / "film-hevc.mp4",
        20,
        video=["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hev1", "-x265-params", "log-level=0"],
    )
    repeat_video(root / "film.avi", 30, root / "long.avi")  # ten minutes
    # Its own copy for the test that leaves: nothing of it is converted before.
    shutil.copy(root / "long.avi", root / "leave.avi")
    (root / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 this is not a film" * 100)
    return root


@pytest.fixture(scope="module")
def films_server(videos, tmp_path_factory):
    live = start_server([videos], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


def folder_id(server) -> int:
    return json.loads(server.request("/api/folders").body)["folders"][0]["id"]


def ffmpeg_children(server) -> list[psutil.Process]:
    children = psutil.Process(server.process.pid).children(recursive=True)
    return [child for child in children if "ffmpeg" in child.name()]


@pytest.fixture
def player(chromium, films_server):
    context = keyed_context(chromium, films_server)
    page = context.new_page()
    page.goto(films_server.url + "/")
    page.evaluate(ADD_VIDEO)
    page.add_script_tag(url="/static/couchcast/playback.js")
    yield page
    context.close()


def start_playback(page, server, path: str) -> dict:
    return page.evaluate(START % folder_id(server), path)


FILES = [("film.mkv", "remux"), ("film.avi", "transcode"), ("film-hevc.mp4", "transcode")]


@pytest.mark.parametrize(("name", "kind"), FILES)
def test_file_plays_through_its_conversion(player, films_server, name, kind):
    answer = start_playback(player, films_server, name)
    player.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    assert answer["plan"]["kind"] == kind


@pytest.mark.parametrize(("name", "kind"), FILES)
def test_seeking_to_8s_plays_on_from_there(player, films_server, name, kind):
    start_playback(player, films_server, name)
    player.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    player.evaluate("() => { document.getElementById('player').currentTime = 8; }")
    player.wait_for_function(PLAYING_ON_AFTER, arg=8.5, timeout=60_000)
    assert player.evaluate("() => document.getElementById('player').currentTime") >= 8


def test_the_library_player_page_plays_an_mkv_with_ac3_through_a_remux(chromium, films_server):
    context = keyed_context(chromium, films_server)
    page = context.new_page()
    try:
        page.goto(f"{films_server.url}/watch/{folder_id(films_server)}/film.mkv?autoplay=1")
        page.wait_for_function("() => document.getElementById('video').currentTime > 1", timeout=60_000)
        assert page.evaluate("() => document.getElementById('video').dataset.playback") == "remux"
    finally:
        context.close()


def test_a_browser_without_native_hls_plays_through_hls_js(player, films_server):
    if not HLS_JS.exists():
        pytest.fail("hls.js is missing: run scripts/fetch-hlsjs.sh (scripts/test-all.sh does)")
    player.evaluate(NO_NATIVE_HLS)
    answer = start_playback(player, films_server, "film.avi")
    player.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    assert answer["plan"]["kind"] == "transcode"
    assert player.evaluate("() => document.getElementById('player').src.startsWith('blob:')")


def test_seeking_far_past_the_conversion_plays_on_from_there(player, films_server):
    # 300 s into the ten-minute file: far past what the running process has made, so it is
    # replaced by one that starts there.
    start_playback(player, films_server, "long.avi")
    player.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    player.evaluate("() => { document.getElementById('player').currentTime = 300; }")
    player.wait_for_function(PLAYING_ON_AFTER, arg=300.5, timeout=60_000)
    assert player.evaluate("() => document.getElementById('player').currentTime") >= 300


def test_no_ffmpeg_is_left_10s_after_the_page_closes(chromium, films_server, player):
    seen: list[psutil.Process] = []
    stop = threading.Event()

    def watch() -> None:
        # ffmpeg runs only until it is a few segments ahead of the viewer: watch for it all along.
        while not stop.is_set() and not seen:
            seen.extend(ffmpeg_children(films_server))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        start_playback(player, films_server, "leave.avi")
        player.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    finally:
        stop.set()
        watcher.join()
    assert seen, "watching the ten-minute transcode should have run ffmpeg"
    player.context.close()
    deadline = time.monotonic() + 10
    while ffmpeg_children(films_server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ffmpeg_children(films_server) == []


def test_embedded_srt_is_offered_as_a_webvtt_track(films_server):
    answer = json.loads(films_server.request(f"/api/playback/{folder_id(films_server)}?path=film.mkv").body)
    (track,) = answer["subtitles"]
    response = films_server.request(track["url"])
    assert (track["language"], response.status) == ("eng", 200)
    assert response.body.startswith(b"WEBVTT")
    assert b"Hello from inside" in response.body


def test_a_broken_file_gets_a_json_error_not_a_500(films_server):
    response = films_server.request(f"/hls/{folder_id(films_server)}/broken.mkv/transcode.m3u8")
    assert response.status == 422
    assert "broken.mkv" in json.loads(response.body)["error"]


def test_a_broken_file_is_offered_as_it_is_with_the_problem_named(films_server):
    query = "path=broken.mkv&file=0&video=0&hls=1"
    answer = json.loads(films_server.request(f"/api/playback/{folder_id(films_server)}?{query}").body)
    assert answer["plan"]["kind"] == "direct"
    assert "cannot be read" in answer["problem"]


def test_a_segment_past_the_end_is_a_json_404(films_server):
    response = films_server.request(f"/hls/{folder_id(films_server)}/film.avi/transcode-99.ts")
    assert response.status == 404
    assert json.loads(response.body)["error"]


def test_without_ffmpeg_conversion_is_a_json_503_and_direct_play_works(videos, tmp_path):
    live = start_server([videos], tmp_path / "home", env={"COUCHCAST_FFMPEG": "/nonexistent"})
    try:
        playlist = live.request(f"/hls/{folder_id(live)}/film.avi/transcode.m3u8")
        direct = live.request(f"/media/{folder_id(live)}/film.avi", headers={"Range": "bytes=0-1"})
    finally:
        live.stop()
    assert playlist.status == 503
    assert "ffmpeg is not available" in json.loads(playlist.body)["error"]
    assert direct.status == 206


def test_stopping_the_server_ends_ffmpeg_and_removes_segments(videos, tmp_path):
    live = start_server([videos], tmp_path / "home")
    try:
        segment = live.request(f"/hls/{folder_id(live)}/long.avi/transcode-0.ts")
        running = ffmpeg_children(live)
        segments_dir = tmp_path / "home" / "cache" / "hls"
        made = list(segments_dir.rglob("*.ts"))
    finally:
        live.stop()
    assert (segment.status, bool(running), bool(made)) == (200, True, True)
    assert not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in running)
    assert not segments_dir.exists()
