"""The right picture and sound for what households keep: HDR films, TV recordings, camcorder clips, music.

- HDR10 and HLG transcodes are tone-mapped to SDR BT.709: the brightness and saturation of the
  converted picture are measured against the same picture made in SDR, and its tags read;
- interlaced recordings are deinterlaced when transcoded (idet finds no combing in the output);
- MPEG-TS (.ts, .m2ts, AVCHD .mts) plays in Chromium, which says yes to video/mp2t in MediaSource
  but cannot open a .ts as <video src>: H.264 is remuxed, MPEG-2 transcoded;
- sound-only files Chromium cannot decode (ALAC) play as AAC in HLS and seek; FLAC and MP3 direct.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from server.ffmpeg import ffmpeg_binary
from server.library.probe import probe
from server.transcode.picture import ffmpeg_filters
from server.transcode.segments import Rendition, ffmpeg_command
from tests.films import FRAME_RATE, READ_FRAME_JS, frame_time, make_film
from tests.helpers import phone_page, playlist_uris, wait_for
from tests.inprocess import start_in_process

FRAME = float(1 / FRAME_RATE)
VIDEO = "#video"
DEBIAN_FFMPEG = "/usr/bin/ffmpeg"
PLAYING_PAST = """(seconds) => {
  const video = document.querySelector('#video');
  if (video.error) throw new Error('playback failed: ' + video.error.message);
  return !video.seeking && !video.paused && video.currentTime > seconds;
}"""
# The picture mastered in SDR BT.709, and the same picture put into HDR: white at 100 nits.
SDR_PICTURE = (
    "testsrc2=size=320x180:rate=24:duration=4,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"
)
TO_HDR = ",".join(
    [
        "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
        "zscale=t={}:p=bt2020:m=bt2020nc:npl=100,format=yuv420p10le",
    ]
)
X265_HDR10 = ":".join(
    [
        "log-level=0:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)",
        "L(10000000,1):max-cll=1000,400",
    ]
)
# A person calls the converted picture right when it is within these of the SDR one; cutting the
# bits without tone mapping keeps 80% of the brightness and 20% of the saturation.
LUMA_TOLERANCE = 0.15
SATURATION_TOLERANCE = 0.30


def ffmpeg(*arguments: str, binary: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary or ffmpeg_binary(), "-v", "error", "-y", *arguments], check=True, capture_output=True
    )


def make_pictures(root: Path) -> None:
    sdr = ["-f", "lavfi", "-i", SDR_PICTURE]
    tags = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
    ffmpeg(*sdr, "-c:v", "libx264", "-preset", "ultrafast", *tags, str(root / "sdr.mp4"))
    for name, transfer, x265 in (("hdr10", "smpte2084", X265_HDR10), ("hlg", "arib-std-b67", "log-level=0")):
        ffmpeg("-f", "lavfi", "-i", SDR_PICTURE, "-vf", TO_HDR.format(transfer), "-c:v", "libx265",
               "-preset", "ultrafast", "-x265-params", x265, "-color_primaries", "bt2020",
               "-color_trc", transfer, "-colorspace", "bt2020nc", str(root / f"{name}.mkv"))  # fmt: skip


def make_combed(path: Path) -> None:
    """A truly interlaced recording: each frame's two fields are two moments 1/50 s apart, so any
    movement combs, as on a TV broadcast (a frame of make_film's fields shows one moment)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=50:duration=4", "-vf",
           "tinterlace=interleave_top,setfield=tff,format=yuv420p", "-c:v", "mpeg2video", "-b:v", "3M",
           "-flags", "+ilme+ildct", "-an", str(path))  # fmt: skip


def make_sound(path: Path, seconds: float, codec: list[str]) -> None:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=44100", *codec, str(path))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("Household")
    make_pictures(root)
    make_combed(root / "combed.ts")
    make_film(root / "tv.ts", 20, interlaced="tff", audio="aac")  # 1080i-like H.264, small in pixels
    make_film(root / "camcorder.mts", 20, interlaced="bff", audio="ac3", seed=2)  # AVCHD: AC-3 sound
    make_film(root / "dvb.ts", 20, codec="mpeg2video", interlaced="tff", audio="mp2", seed=3)
    make_sound(root / "album.m4a", 40, ["-c:a", "alac"])
    make_sound(root / "song.flac", 10, ["-c:a", "flac"])
    make_sound(root / "song.mp3", 10, ["-c:a", "libmp3lame"])
    return root


@pytest.fixture(scope="module")
def server(library, tmp_path_factory):
    live = start_in_process([library], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


@pytest.fixture
def phone(chromium, server):
    with phone_page(chromium, server) as page:
        yield page


def picture_stats(path: Path) -> tuple[float, float]:
    """(mean luma, mean saturation) of the first picture, 8-bit scale, by ffmpeg's signalstats."""
    result = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-i", str(path), "-frames:v", "1", "-vf",
         "format=yuv420p,signalstats,metadata=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    luma = float(re.search(r"YAVG=([\d.]+)", result.stdout).group(1))
    saturation = float(re.search(r"SATAVG=([\d.]+)", result.stdout).group(1))
    return luma, saturation


def first_segment(server, name: str, kind: str, tmp_path: Path) -> Path:
    """Segment 0 of `name` as the server converts it for a browser that plays nothing but HLS."""
    answers = "&file=0&video=0&hls=1" if kind == "transcode" else "&file=0&video=1&hls=1"
    plan = json.loads(server.request(f"/api/playback/1?path={quote(name)}{answers}").body)["plan"]
    assert plan["kind"] == kind, plan
    playlist = wait_for(lambda: (r := server.request(plan["url"])).status == 200 and r.body, timeout=60)
    uri = playlist_uris(playlist)[0]
    segment = wait_for(lambda: (r := server.request(uri)).status == 200 and r.body, timeout=60)
    target = tmp_path / f"{Path(name).stem}-0.ts"
    target.write_bytes(segment)
    return target


def probed_video(path: Path):
    return probe(str(path)).video


def assert_looks_like_sdr(converted: Path, sdr: Path) -> None:
    luma, saturation = picture_stats(converted)
    sdr_luma, sdr_saturation = picture_stats(sdr)
    print(f"{converted.name}: luma {luma:.1f} / {sdr_luma:.1f}, ", end="")
    print(f"saturation {saturation:.1f} / {sdr_saturation:.1f}")
    assert luma == pytest.approx(sdr_luma, rel=LUMA_TOLERANCE)
    assert saturation == pytest.approx(sdr_saturation, rel=SATURATION_TOLERANCE)


@pytest.mark.parametrize("name", ["hdr10.mkv", "hlg.mkv"])
def test_an_hdr_film_is_tone_mapped_to_sdr_bt709(server, library, tmp_path, name):
    source = probed_video(library / name)
    assert source.color_transfer in ("smpte2084", "arib-std-b67")
    # Without tone mapping (the bits cut to 8) the picture is grey: the test can tell.
    cut = tmp_path / "cut.mp4"
    ffmpeg("-i", str(library / name), "-frames:v", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(cut))
    assert picture_stats(cut)[1] < picture_stats(library / "sdr.mp4")[1] * (1 - SATURATION_TOLERANCE)

    segment = first_segment(server, name, "transcode", tmp_path)
    assert_looks_like_sdr(segment, library / "sdr.mp4")
    video = probed_video(segment)
    assert (video.color_primaries, video.color_transfer) == ("bt709", "bt709")


def test_debian_ffmpeg_tone_maps_the_same_way(library, tmp_path):
    """Debian's ffmpeg 5.1 has zscale and tonemap too; the same command gives the same picture."""
    filters = ffmpeg_filters(DEBIAN_FFMPEG)
    assert {"zscale", "tonemap", "bwdif"} <= filters
    video = probed_video(library / "hdr10.mkv")
    rendition = Rendition(str(library / "hdr10.mkv"), "transcode", 0, None, 0.0, (0.0, 2.0), 4.0, video=video)
    command = ffmpeg_command(DEBIAN_FFMPEG, rendition, first=0, filters=filters)
    nut = subprocess.run(command, capture_output=True, check=True).stdout
    (tmp_path / "out.nut").write_bytes(nut)
    assert_looks_like_sdr(tmp_path / "out.nut", library / "sdr.mp4")


def combing(path: Path) -> dict[str, int]:
    """idet's count of frames it found interlaced (tff/bff) or progressive, over single frames."""
    result = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", str(path), "-vf", "idet", "-an", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    line = re.findall(
        r"Single frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", result.stderr
    )[-1]
    return {"interlaced": int(line[0]) + int(line[1]), "progressive": int(line[2])}


def test_an_interlaced_recording_is_deinterlaced_when_transcoded(server, library, tmp_path):
    source = combing(library / "combed.ts")
    assert source["interlaced"] > source["progressive"], source  # the test picture does comb
    assert probed_video(library / "combed.ts").field_order == "top first"
    segment = combing(first_segment(server, "combed.ts", "transcode", tmp_path))
    assert segment["progressive"] > 5 * max(segment["interlaced"], 1), segment


def test_mts_files_are_listed(server):
    names = {item["name"] for item in json.loads(server.request("/api/folders/1/items").body)["items"]}
    assert {"camcorder.mts", "tv.ts", "album.m4a"} <= names


def open_player(page, server, name: str) -> str:
    page.goto(f"{server.url}/watch/1/{quote(name)}?autoplay=1")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').dataset.playback", timeout=30_000)
    if page.query_selector("#autoplay"):
        page.uncheck("#autoplay")
    page.eval_on_selector(VIDEO, "video => { video.muted = true; video.play(); }")
    return page.eval_on_selector(VIDEO, "video => video.dataset.playback")


def assert_picture_shows_the_clock(page) -> float:
    shown = page.evaluate(READ_FRAME_JS, VIDEO)
    assert frame_time(shown["number"]) == pytest.approx(shown["mediaTime"], abs=FRAME * 1.01), shown
    return shown["mediaTime"]


@pytest.mark.parametrize(
    ("name", "kind"), [("tv.ts", "remux"), ("camcorder.mts", "remux"), ("dvb.ts", "transcode")]
)
def test_mpeg_ts_plays_in_chromium_with_the_right_picture(phone, server, name, kind):
    assert open_player(phone, server, name) == kind
    phone.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    first = assert_picture_shows_the_clock(phone)
    phone.wait_for_function(PLAYING_PAST, arg=first + 2, timeout=30_000)
    assert assert_picture_shows_the_clock(phone) > first + 2  # the picture advances
    phone.eval_on_selector(VIDEO, "video => { video.currentTime = 13.3; }")
    phone.wait_for_function(PLAYING_PAST, arg=13.3, timeout=60_000)
    assert 13.3 <= assert_picture_shows_the_clock(phone) <= 13.3 + 1.5


def test_alac_plays_in_chromium_as_aac_and_seeks(phone, server):
    assert open_player(phone, server, "album.m4a") == "transcode"
    phone.wait_for_function(PLAYING_PAST, arg=1, timeout=60_000)
    duration = phone.eval_on_selector(VIDEO, "video => video.duration")
    assert duration == pytest.approx(40, abs=0.5)
    phone.eval_on_selector(VIDEO, "video => { video.currentTime = 31; }")
    phone.wait_for_function(PLAYING_PAST, arg=32, timeout=60_000)
    started = time.monotonic()
    clock = phone.eval_on_selector(VIDEO, "video => video.currentTime")
    phone.wait_for_function(PLAYING_PAST, arg=clock + 1, timeout=30_000)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("name", ["song.flac", "song.mp3"])
def test_flac_and_mp3_still_play_directly(phone, server, name):
    assert open_player(phone, server, name) == "direct"
    phone.wait_for_function(PLAYING_PAST, arg=1.5, timeout=30_000)
