"""Films hours long, and files that lie about their length, converted through a real server.

A 6-hour file could not start at 0 (every cut time went into one ffmpeg argument: "Argument list too
long"), and a 3 MB file whose header claimed 500 hours gave a 34 MB playlist of 900,000 segments and
360 MB of server memory.
"""

from __future__ import annotations

import json
import struct

import av
import psutil
import pytest

from tests.films import make_film
from tests.helpers import start_server
from tests.transcode_media import repeat_video

SIX_HOURS = 6 * 3600
# A server that made a 900,000-segment playlist held 360 MB; one that reads the real length, ~100 MB.
MEMORY_BOUND = 250 * 1024 * 1024


@pytest.fixture(scope="module")
def long_films(tmp_path_factory):
    root = tmp_path_factory.mktemp("Long")
    piece = make_film(tmp_path_factory.mktemp("parts") / "piece.mkv", 60, plain=True, audio="aac")
    repeat_video(piece, SIX_HOURS // 60, root / "six-hours.mkv")
    minute = make_film(root / "minute.mkv", 60, audio="aac")
    data = bytearray(minute.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Duration: an 8-byte float, in milliseconds
    data[at + 3 : at + 11] = struct.pack(">d", 500 * 3600 * 1000.0)
    (root / "liar.mkv").write_bytes(bytes(data))
    minute.unlink()
    return root


@pytest.fixture(scope="module")
def long_server(long_films, tmp_path_factory):
    live = start_server([long_films], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


def playlist(server, name: str, kind: str) -> list[tuple[float, str]]:
    """(start time, segment URL) of every segment of a conversion's playlist."""
    folder = json.loads(server.request("/api/folders").body)["folders"][0]["id"]
    response = server.request(f"/hls/{folder}/{name}/{kind}.m3u8")
    assert response.status == 200, response.body[:300]
    segments, start, length = [], 0.0, 0.0
    for line in response.body.decode().splitlines():
        if line.startswith("#EXTINF:"):
            length = float(line[8:].rstrip(","))
        elif line.startswith("/l/"):
            segments.append((start, line))
            start += length
    return segments


def first_video_time(body: bytes, tmp_path) -> float:
    segment = tmp_path / "segment.ts"
    segment.write_bytes(body)
    with av.open(str(segment)) as container:
        packet = next(p for p in container.demux(video=0) if p.pts is not None)
        return float(packet.pts * packet.time_base) - 10  # segments' clock: the film's plus 10 s


@pytest.mark.parametrize("kind", ["remux", "transcode"])
def test_a_six_hour_film_starts_at_0_and_at_5_59_00(long_server, tmp_path, kind):
    segments = playlist(long_server, "six-hours.mkv", kind)
    assert sum(1 for _ in segments) > 1000
    for wanted in (0.0, SIX_HOURS - 60):
        start, url = max((s for s in segments if s[0] <= wanted), key=lambda s: s[0])
        response = long_server.request(url, with_key=False)
        assert response.status == 200, response.body[:300]
        assert first_video_time(response.body, tmp_path) == pytest.approx(start, abs=0.5)


@pytest.mark.parametrize("kind", ["remux", "transcode"])
def test_a_header_claiming_500_hours_gives_a_playlist_of_the_real_length(long_server, kind):
    segments = playlist(long_server, "liar.mkv", kind)
    assert 10 <= len(segments) <= 31  # a minute of film, in 2-10 s segments
    assert psutil.Process(long_server.process.pid).memory_info().rss < MEMORY_BOUND
