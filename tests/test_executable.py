"""The built one-file executable works on its own: no Python, no ffmpeg on PATH, a clean stop; under Xvfb
with trayer its tray icon docks, it opens the browser, and its folder dialog (itself, run again) answers.

Run on a build: `COUCHCAST_EXE=dist/Couchcast .venv/bin/python -m pytest tests/test_executable.py`
(`scripts/build-and-smoke.sh` builds, then runs this). Without a built file every test is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.films import make_film
from tests.helpers import ACCESS_KEY, PROJECT_ROOT, LiveServer, free_port, make_video, wait_for_port
from tests.xsession import WAIT_SECONDS, DesktopApp, launch_app

EXE = Path(
    os.environ.get("COUCHCAST_EXE")
    or PROJECT_ROOT / "dist" / ("Couchcast.exe" if os.name == "nt" else "Couchcast")
)
# Time for the first thumbnail: ffmpeg is unpacked from the executable first (~3 s here, more when busy).
THUMBNAIL_WAIT = 90

pytestmark = pytest.mark.skipif(
    not EXE.is_file(), reason=f"no built executable at {EXE}: run scripts/build-exe.sh, or set COUCHCAST_EXE"
)


def start_executable(folder: Path, scratch: Path) -> tuple[LiveServer, Path]:
    """`Couchcast serve` with an empty PATH, its own home, and its own TMPDIR (returned) to check after."""
    home, tmpdir = scratch / "home", scratch / "tmp"
    tmpdir.mkdir(parents=True)
    port = free_port()
    env = {
        "PATH": "",
        "HOME": str(home),
        "COUCHCAST_HOME": str(home),
        "TMPDIR": str(tmpdir),
        "LANG": "C.UTF-8",
    }
    process = subprocess.Popen(
        [
            str(EXE),
            "serve",
            str(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--access-key",
            ACCESS_KEY,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, timeout=60, process=process)
    except Exception:
        process.kill()
        print(process.communicate()[0])
        raise
    return LiveServer(process, port, ACCESS_KEY, home), tmpdir


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("Videos")
    make_video(folder / "clip.mp4", 4, extra=["-movflags", "+faststart"])
    make_film(folder / "film.mkv", 12)  # H.264 with B-frames, AC-3 5.1: remuxed for a browser
    return folder


@pytest.fixture(scope="module")
def executable(video_folder, tmp_path_factory) -> LiveServer:
    live, _ = start_executable(video_folder, tmp_path_factory.mktemp("exe"))
    yield live
    live.stop()


def video_item(live: LiveServer) -> dict:
    folders = json.loads(live.request("/api/folders").body)["folders"]
    items = json.loads(live.request(f"/api/folders/{folders[0]['id']}/items?path=").body)["items"]
    return next(item for item in items if item["name"] == "clip.mp4")


def test_range_request_is_answered_byte_exactly(executable, video_folder):
    content = (video_folder / "clip.mp4").read_bytes()
    response = executable.request(video_item(executable)["stream_url"], headers={"Range": "bytes=100-1099"})
    assert response.status == 206
    assert response.header("Content-Range") == f"bytes 100-1099/{len(content)}"
    assert response.body == content[100:1100]


# The executable makes thumbnails once the library issue's thumbnailer is in this tree.
needs_thumbnails = pytest.mark.skipif(
    importlib.util.find_spec("server.library.thumbnails") is None,
    reason="this tree has no thumbnailer yet (server/library/thumbnails.py): nothing in it runs ffmpeg",
)


def wait_for_thumbnail(live: LiveServer):
    """The video's thumbnail response, once the background thumbnailer has made it."""
    deadline = time.monotonic() + THUMBNAIL_WAIT
    while (thumbnail_url := video_item(live)["thumbnail_url"]) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert thumbnail_url, f"no thumbnail_url within {THUMBNAIL_WAIT} s"
    while (response := live.request(thumbnail_url)).status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    return response


@needs_thumbnails
def test_thumbnail_is_made_by_the_bundled_ffmpeg(executable):
    response = wait_for_thumbnail(executable)
    assert response.status == 200
    assert response.header("Content-Type").startswith("image/")
    assert response.body[:3] == b"\xff\xd8\xff" or response.body[:8] == b"\x89PNG\r\n\x1a\n"


@needs_thumbnails
def test_bundled_ffmpeg_is_unpacked_into_the_user_cache(executable):
    assert wait_for_thumbnail(executable).status == 200  # making it needed ffmpeg
    unpacked = list((executable.home / "cache" / "ffmpeg").glob("*/ffmpeg*"))
    assert [path.name for path in unpacked] == ["ffmpeg.exe" if os.name == "nt" else "ffmpeg"]


@pytest.mark.skipif(
    not (PROJECT_ROOT / "scripts" / "fetch-hlsjs.sh").exists(), reason="this tree's player uses no hls.js yet"
)
def test_hls_js_is_served_from_inside_the_executable(executable):
    response = executable.request("/static/couchcast/vendor/hls.min.js")
    assert response.status == 200
    assert b"Hls" in response.body


def test_a_remux_is_cut_into_segments_inside_the_executable(executable):
    """The conversion engine's parts the executable must carry: PyAV (timeline and cutter) and the
    bundled ffmpeg; its playlist's signed segment links need no key."""
    folder = json.loads(executable.request("/api/folders").body)["folders"][0]["id"]
    playlist = executable.request(f"/hls/{folder}/film.mkv/remux.m3u8")
    assert playlist.status == 200, playlist.body[:300]
    first = next(line for line in playlist.body.decode().splitlines() if line.startswith("/l/"))
    segment = executable.request(first, with_key=False)
    assert segment.status == 200, segment.body[:300]
    assert segment.body[0] == 0x47 and segment.body[188] == 0x47  # MPEG-TS packets


def test_sigterm_exits_0_and_leaves_nothing_in_the_temp_dir(video_folder, tmp_path):
    live, tmpdir = start_executable(video_folder, tmp_path)
    assert live.request("/api/folders").status == 200
    assert list(tmpdir.iterdir()), "the one-file build should have unpacked itself into TMPDIR"
    live.process.send_signal(signal.SIGTERM)
    assert live.process.wait(30) == 0
    assert list(tmpdir.iterdir()) == []


@pytest.fixture(scope="module")
def tray_app(x_session, tmp_path_factory) -> DesktopApp:
    home = tmp_path_factory.mktemp("tray-home")
    app = launch_app(x_session, home, ACCESS_KEY, command=(str(EXE),), PATH="", TMPDIR=str(home))
    yield app
    app.process.terminate()  # SIGTERM: a SIGKILLed one-file build leaves its _MEI folder behind
    app.process.wait(WAIT_SECONDS)
    app.close()


def test_tray_icon_of_the_executable_docks_in_the_tray_host(tray_app):
    assert tray_app.tray_icon_box() is not None, "no pixel changed in the tray area"


def test_executable_opens_the_browser_on_the_library(tray_app):
    assert tray_app.wait_for_urls(1) == [f"http://127.0.0.1:{tray_app.port}/?key={ACCESS_KEY}"]


def test_folder_dialog_of_the_executable_returns_the_typed_folder(x_session, tmp_path):
    folder = tmp_path / "My Vidéos été"
    folder.mkdir()
    result_file = tmp_path / "chosen-folder"
    env = {**x_session.env, "PATH": "", "TMPDIR": str(tmp_path), "COUCHCAST_HOME": str(tmp_path / "home")}
    dialog = subprocess.Popen([str(EXE), "--pick-folder", str(result_file)], env=env)
    try:
        x_session.choose_in_folder_dialog(folder)
        assert dialog.wait(WAIT_SECONDS) == 0
    finally:
        if dialog.poll() is None:
            dialog.kill()
    assert os.fsdecode(result_file.read_bytes()).rstrip("\n") == str(folder)
