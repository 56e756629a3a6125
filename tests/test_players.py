"""Real players from Debian play converted streams from a real `couchcast serve` to the end.

Each player gets what a person would paste into it: the playlist URL with `?key=` (mpv also with an
`Authorization: Bearer` header instead). The playlist lists its segments under a signed per-file link
(server.access.links), so segments need no cookie and no header: GStreamer's HLS demuxers forward
neither, and VLC can send neither. A recording proxy in front of the server (the server does not log
request paths) shows what each player really asked for: every segment under `/l/`, answered, and the
long-lived access key in no segment URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote

import av
import pytest

from tests.films import make_film
from tests.helpers import LiveServer, playlist_uris, start_server
from tests.recording_proxy import Exchange, RecordingProxy

FILM_SECONDS = 21
# (file, conversion): an H.264 MKV with B-frames and 5.1 AC-3 is remuxed (the sound converted);
# an HEVC MKV with open GOPs is transcoded.
REMUX = ("film.mkv", "remux")
TRANSCODE = ("hevc.mkv", "transcode")
SEGMENT = re.compile(r"/hls/1/(?P<name>[^/]+)/(?P<kind>remux|transcode)-(?P<number>[0-9]+)\.ts$")
PLAYER_TIMEOUT = 120
# VLC refuses to run as root; it runs as nobody (any uid that owns nothing here would do).
NOBODY = 65534


def require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is missing: install Debian's {package} (see scripts/test-all.sh)")
    return path


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("PlayerFilms")
    make_film(root / "film.mkv", FILM_SECONDS)
    make_film(root / "hevc.mkv", FILM_SECONDS, codec="hevc", seed=2)
    # 480 pictures at 23.976 fps: the last one starts at 19.98 s and ends at 20.02 s, just past the
    # 2 s grid of transcode segments.
    make_film(root / "hevc-20s.mkv", 20, codec="hevc", seed=3)
    return root


@pytest.fixture(scope="module")
def players_server(films, tmp_path_factory) -> LiveServer:
    live = start_server([films], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


@pytest.fixture
def proxy(players_server) -> RecordingProxy:
    recorder = RecordingProxy(players_server.port)
    yield recorder
    recorder.close()


def playlist_path(film: tuple[str, str]) -> str:
    name, kind = film
    return f"/hls/1/{name}/{kind}.m3u8"


def segment_uris(server: LiveServer, film: tuple[str, str]) -> list[str]:
    response = server.request(playlist_path(film))
    assert response.status == 200, response.body
    return playlist_uris(response.body)


def assert_played_through_links(
    exchanges: list[Exchange],
    server: LiveServer,
    film: tuple[str, str],
    *,
    bare: bool = True,
) -> None:
    """Every segment of the film was fetched under a signed link and answered, and no segment URL
    holds the access key; with `bare`, the segment requests carried no cookie and no Authorization."""
    segments = [(exchange, SEGMENT.search(exchange.target)) for exchange in exchanges]
    segments = [(exchange, match) for exchange, match in segments if match]
    assert segments, f"no segment was asked for: {[e.target for e in exchanges]}"
    for exchange, match in segments:
        assert exchange.target.startswith("/l/"), exchange.target
        assert server.key not in unquote(exchange.target), exchange.target
        assert exchange.status in (200, 206), (exchange.target, exchange.status)
        assert (match["name"], match["kind"]) == film
        if bare:
            assert "cookie" not in exchange.headers and "authorization" not in exchange.headers
    fetched = {int(match["number"]) for _, match in segments}
    assert fetched == set(range(len(segment_uris(server, film))))


def assert_key_not_logged(server: LiveServer) -> None:
    logs = Path(server.home) / "logs"
    for log in logs.glob("*.log*"):
        assert server.key not in log.read_text(encoding="utf-8", errors="replace"), log


def run_player(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        timeout=PLAYER_TIMEOUT,
        **kwargs,
    )


# mpv: as fast as it decodes (no clock), and the position it reached printed on its status line.
MPV = [
    "--no-config", "--untimed", "--vo=null", "--ao=null", "--ao-null-untimed",
    "--term-status-msg=position=${=time-pos}",
]  # fmt: skip


def mpv_last_position(output: str) -> float:
    positions = re.findall(r"position=([0-9.]+)", output)
    assert positions, output[-2000:]
    return float(positions[-1])


@pytest.mark.parametrize("film", [REMUX, TRANSCODE], ids=["remux", "transcode"])
def test_mpv_plays_a_converted_film_to_the_end_from_a_url_with_the_key(players_server, proxy, film):
    """mpv given only the playlist URL with ?key= plays every segment, fetched under signed links with
    no cookie and no header, and exits 0 at the end of the film."""
    mpv = require("mpv", "mpv")
    played = run_player([mpv, *MPV, f"{proxy.url}{playlist_path(film)}?key={players_server.key}"])
    assert played.returncode == 0, played.stdout[-3000:]
    assert mpv_last_position(played.stdout) >= FILM_SECONDS - 1
    assert_played_through_links(proxy.take(), players_server, film)
    assert_key_not_logged(players_server)


@pytest.mark.parametrize("film", [REMUX, TRANSCODE], ids=["remux", "transcode"])
def test_mpv_plays_a_converted_film_to_the_end_with_a_bearer_header(players_server, proxy, film):
    """mpv given the bare playlist URL and `Authorization: Bearer KEY` plays to the end; its segment
    URLs are still the signed links (it sends the header along, which they do not need)."""
    mpv = require("mpv", "mpv")
    played = run_player(
        [
            mpv, *MPV, f"--http-header-fields=Authorization: Bearer {players_server.key}",
            f"{proxy.url}{playlist_path(film)}",
        ]
    )  # fmt: skip
    assert played.returncode == 0, played.stdout[-3000:]
    assert mpv_last_position(played.stdout) >= FILM_SECONDS - 1
    exchanges = proxy.take()
    assert "key=" not in exchanges[0].target  # the header alone opened the playlist
    assert_played_through_links(exchanges, players_server, film, bare=False)


# GStreamer: playbin autoplugs the HLS demuxer of gstreamer1.0-plugins-bad (hlsdemux), playbin3 the
# one of gstreamer1.0-plugins-good (hlsdemux2); neither forwards headers or cookies to segments.
GSTREAMER_PIPELINES = {"hlsdemux": ("playbin", "GstHLSDemux:"), "hlsdemux2": ("playbin3", "GstHLSDemux2:")}
GST_VIDEO_BUFFER = re.compile(r"GstFakeSink:video: last-message = chain .*? pts: ([0-9]+):([0-9]+):([0-9.]+)")


def gst_video_span(output: str) -> float:
    """Seconds from the first video picture that reached the sink to the last."""
    times = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in GST_VIDEO_BUFFER.findall(output)]
    assert times, output[-2000:]
    return max(times) - min(times)


@pytest.mark.parametrize("demuxer", sorted(GSTREAMER_PIPELINES))
def test_gstreamer_plays_a_remuxed_film_to_the_end_of_stream(players_server, proxy, demuxer):
    """gst-launch-1.0 with the playlist URL and ?key= reaches end-of-stream with the whole film's
    pictures; segments go through signed links, since the demuxer sends no cookie and no header."""
    gst_launch = require("gst-launch-1.0", "gstreamer1.0-tools")
    pipeline, element = GSTREAMER_PIPELINES[demuxer]
    url = f"{proxy.url}{playlist_path(REMUX)}?key={players_server.key}"
    played = run_player(
        [
            gst_launch, "-v", pipeline, f"uri={url}",
            "video-sink=fakesink name=video silent=false", "audio-sink=fakesink name=audio silent=false",
        ]
    )  # fmt: skip
    assert played.returncode == 0, played.stdout[-3000:]
    assert "Got EOS from element" in played.stdout, played.stdout[-3000:]
    assert element in played.stdout, f"{pipeline} did not use {demuxer}"
    assert gst_video_span(played.stdout) >= FILM_SECONDS - 1.5
    assert_played_through_links(proxy.take(), players_server, REMUX)


def vlc_command(cvlc: str, url: str, home: str) -> tuple[list[str], dict[str, str]]:
    """cvlc without a window or a sound card, sped up 16x (its clock still paces playback), run as
    nobody when the tests run as root (VLC refuses root), with a home of its own to write to."""
    command = [cvlc, "--play-and-exit", "--vout", "dummy", "--aout", "dummy", "--rate", "16", url]
    if os.geteuid() == 0:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    return command, {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home}


@pytest.fixture
def vlc_home():
    """A home VLC may write its settings into: outside pytest's temporary tree, which only root can
    enter (mode 0700), and owned by the user VLC runs as."""
    home = tempfile.mkdtemp(prefix="couchcast-vlc-")
    if os.geteuid() == 0:
        os.chown(home, NOBODY, NOBODY)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_vlc_plays_a_remuxed_film_to_the_end(players_server, proxy, vlc_home):
    """cvlc (which can send no header at all) plays the playlist URL with ?key= to its end and exits 0;
    every segment came through a signed link."""
    cvlc = require("cvlc", "vlc-bin and vlc-plugin-base")
    command, env = vlc_command(cvlc, f"{proxy.url}{playlist_path(REMUX)}?key={players_server.key}", vlc_home)
    played = run_player(command, env=env, cwd=vlc_home)
    assert played.returncode == 0, played.stdout[-3000:]
    assert "end of playlist, exiting" in played.stdout, played.stdout[-3000:]
    assert_played_through_links(proxy.take(), players_server, REMUX)


def test_every_segment_a_transcode_playlist_lists_can_be_made(players_server):
    """A film whose last picture ends just past a segment boundary: every segment its transcode
    playlist lists is answered with MPEG-TS (a player fetches them all, the last one included)."""
    uris = segment_uris(players_server, ("hevc-20s.mkv", "transcode"))
    answers = {uri.rpartition("/")[2]: players_server.request(uri, with_key=False) for uri in uris}
    assert {name: answer.status for name, answer in answers.items()} == dict.fromkeys(answers, 200)


def test_segments_read_in_order_have_no_picture_flagged_corrupt(players_server, tmp_path):
    """The remux segments, joined in playlist order as an HLS demuxer reads them, demux with no
    packet flagged corrupt (a player that drops corrupt packets would lose a picture per segment)."""
    uris = segment_uris(players_server, REMUX)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(players_server.request(uri, with_key=False).body for uri in uris))
    with av.open(str(joined)) as stream:
        corrupt = [(packet.stream.type, packet.dts) for packet in stream.demux() if packet.is_corrupt]
    assert corrupt == []
