"""Sound and subtitle tracks: listed in words, the phone's language first, switched at the same moment,
remembered per file; styled and picture subtitles drawn into the picture, in line with it.

The film: H.264 with its frame number drawn in every picture (tests.films), English AC-3 5.1 at
440 Hz (the file's default) and French AAC stereo at 880 Hz, so what is served can be told apart by
decoding it; an ASS sign at the top; a VobSub track (made by hand: ffmpeg encodes no picture
subtitles from text, and no PGS at all, see tests.track_films).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import pytest

from tests.films import READ_FRAME_JS, frame_number, frame_time, make_film
from tests.helpers import PHONE, keyed_context, playlist_uris
from tests.inprocess import start_in_process
from tests.track_films import make_forced_film, make_tracks_film, vobsub_track

VIDEO = "#video"
SECONDS = 60
# The VobSub "PICTURE" is on screen from 30 s to 40 s only: the test reads pictures on both sides of
# 30 s from a process started just before (a seek), so a subtitle a picture early or late is seen.
PICTURE_FROM, PICTURE_TO = 30.0, 40.0
LATE_SUBTITLE = 0.13  # three pictures at 23.976 fps
# A DVD subpicture's display time counts in units of 1024/90000 s: it ends just before PICTURE_TO.
SHOWN_UNTIL = PICTURE_FROM + (int((PICTURE_TO - PICTURE_FROM) * 90000) >> 10) * 1024 / 90000


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("work")
    root = tmp_path_factory.mktemp("Films")
    video = make_film(work / "video.mkv", SECONDS, audio=None, plain=True)
    make_tracks_film(work / "Tracks.mkv", video, SECONDS)
    # The VobSub track again, timed: shown only from PICTURE_FROM to PICTURE_TO.
    timed = vobsub_track(work / "timed.mkv", [(PICTURE_FROM, PICTURE_TO, "PICTURE")], 320, 180)
    import subprocess

    from server.ffmpeg import ffmpeg_binary

    subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-y", "-i", str(work / "Tracks.mkv"), "-i", str(timed),
         "-map", "0:v", "-map", "0:a", "-map", "0:s:0", "-map", "1", "-c", "copy",
         "-metadata:s:s:1", "language=eng", str(root / "Tracks.mkv")],
        check=True,
    )  # fmt: skip
    forced = make_forced_film(work / "Forced.mkv", video)
    forced.rename(root / "Forced.mkv")
    return root


@pytest.fixture(scope="module")
def server(films, tmp_path_factory):
    live = start_in_process([films], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


def answer(server, name: str, query: str = "") -> dict:
    response = server.request(f"/api/playback/1?path={name}{query}")
    assert response.status == 200, response.body
    return json.loads(response.body)


def dominant_frequency(segment: bytes, tmp_path: Path) -> float:
    """The pitch of a segment's sound, from its zero crossings (the films' sound is one sine)."""
    path = tmp_path / "segment.ts"
    path.write_bytes(segment)
    samples: list[float] = []
    rate = 48000
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                data = bytes(mono.planes[0])[: mono.samples * 2]
                samples += [
                    int.from_bytes(data[i : i + 2], "little", signed=True) for i in range(0, len(data), 2)
                ]
    samples = samples[2400:]  # the encoder's first milliseconds
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)
    return crossings / (len(samples) / rate)


def segment_of(server, playlist_url: str, number: int) -> bytes:
    playlist = server.request(playlist_url)
    assert playlist.status == 200, playlist.body
    uris = playlist_uris(playlist.body)
    response = server.request(uris[number])
    assert response.status == 200, response.body
    return response.body


# --- the server ---------------------------------------------------------------------------------


def test_tracks_are_listed_in_words(server):
    body = answer(server, "Tracks.mkv")
    assert [(a["label"], a["lang"], a["default"]) for a in body["audio"]] == [
        ("English · AC-3 5.1", "en", True),
        ("French · AAC stereo", "fr", False),
    ]
    assert [(s["label"], s["kind"], s["url"]) for s in body["subtitles"]] == [
        ("English · Styled", "burn", None),
        ("English · VobSub", "burn", None),
    ]
    forced = answer(server, "Forced.mkv")["subtitles"]
    assert [(s["label"], s["kind"], s["forced"]) for s in forced] == [
        ("English", "text", False),
        ("English · Forced", "text", True),
    ]


def test_the_chosen_sound_track_is_the_one_converted_and_never_mixed_with_another(server, tmp_path):
    """A French choice is remuxed even for a browser that plays the file (direct play has the first
    track only); its playlist and segments carry the choice; each track is its own conversion."""
    french = answer(server, "Tracks.mkv", "&file=1&video=1&hls=1&audio=2")["plan"]
    assert french["kind"] == "remux" and french["url"].endswith("remux.m3u8?audio=2")
    english = answer(server, "Tracks.mkv", "&file=0&video=1&hls=1")["plan"]
    assert english["kind"] == "remux" and english["url"].endswith("remux.m3u8")
    french_playlist = server.request(french["url"]).body
    assert all(uri.endswith("?audio=2") for uri in playlist_uris(french_playlist))
    # The same segment of each track, French first: a cache keyed without the track would give
    # the French segment to English too.
    assert dominant_frequency(segment_of(server, french["url"], 3), tmp_path) == pytest.approx(880, rel=0.03)
    assert dominant_frequency(segment_of(server, english["url"], 3), tmp_path) == pytest.approx(440, rel=0.03)
    assert server.request(french["url"].replace("audio=2", "audio=3")).status == 404  # a subtitle stream


def has_subtitle_band(frame: av.VideoFrame) -> bool:
    """Whether the VobSub text is in the picture: light pixels in its band (rows 90-130), where the
    plain film has only its even blue-grey background."""
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    pixels, stride = bytes(plane), plane.line_size
    bright = sum(
        1 for y in range(95, 125, 2) for x in range(80, 240, 2) if abs(pixels[y * stride + x] - 82) > 40
    )
    return bright > 20


def test_picture_subtitles_are_burned_in_line_with_the_pictures(server, tmp_path):
    """Segments from a process started next to the subtitle's start (as after a seek): every picture
    from 30 s on shows it, none before, read by the frame number drawn in each picture."""
    plan = answer(server, "Tracks.mkv", "&file=1&video=1&hls=1&burn=1")["plan"]
    assert plan["kind"] == "transcode" and plan["url"].endswith("transcode.m3u8?burn=1")
    seen = []
    for number in (14, 15, 19, 20):  # 28-32 s and 38-42 s
        path = tmp_path / f"{number}.ts"
        path.write_bytes(segment_of(server, plan["url"], number))
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                seen.append((frame_time(frame_number(frame)), has_subtitle_band(frame)))
    assert len(seen) > 150
    # ffmpeg makes a picture subtitle into frames as the demuxer reaches its packet, and the film's
    # pictures come in decode order (B-frames): it appears up to 3 pictures late (0.08 s measured).
    late = [t for t, _ in seen if PICTURE_FROM <= t < PICTURE_FROM + LATE_SUBTITLE]
    wrong = [
        (round(t, 3), shown)
        for t, shown in seen
        if shown != (PICTURE_FROM <= t < SHOWN_UNTIL) and t not in late
    ]
    assert wrong == [], wrong


# --- the phone ----------------------------------------------------------------------------------


def open_player(context, server, name: str) -> object:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(f"{server.url}/watch/1/{name}")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').dataset.source", timeout=30_000)
    return page


def source(page) -> str:
    return page.eval_on_selector(VIDEO, "v => v.dataset.source")


def play_until(page, seconds: float) -> None:
    page.eval_on_selector(VIDEO, "v => { v.muted = true; v.play(); }")
    page.wait_for_function(
        "(s) => { const v = document.querySelector('#video'); if (v.error) throw new Error(v.error.message);"
        " return !v.paused && !v.seeking && v.currentTime > s; }",
        arg=seconds, timeout=60_000,
    )  # fmt: skip


def choose(page, label: str) -> None:
    page.tap("#tracks")
    page.locator("#tracks-sheet .choice", has_text=label).tap()
    page.tap("#tracks-done")


def test_a_french_phone_starts_on_the_french_sound(chromium, server, tmp_path):
    context = keyed_context(chromium, server, locale="fr-FR", **PHONE)
    page = open_player(context, server, "Tracks.mkv")
    assert page.evaluate("navigator.languages[0]").startswith("fr")
    assert re.search(r"[?&]audio=2(&|$)", source(page))
    assert page.is_visible("#tracks")
    assert "French" in page.inner_text("#tracks-summary")
    page.tap("#tracks")
    rows = page.locator("#audio-choices .choice").all_inner_texts()
    assert [" ".join(r.split()) for r in rows] == ["English AC-3 5.1", "French AAC stereo"]
    assert page.is_checked("#audio-choices input[value='2']")
    page.screenshot(path=str(Path("/tmp") / "couchcast-tracks-sheet.png"))
    # What the page plays is the French track: its segment's sound is 880 Hz.
    assert dominant_frequency(segment_of(server, source(page), 2), tmp_path) == pytest.approx(880, rel=0.03)
    assert page.errors == []
    context.close()


def test_switching_keeps_the_moment_and_is_remembered_for_the_file(chromium, server):
    context = keyed_context(chromium, server, locale="en-US", **PHONE)
    page = open_player(context, server, "Tracks.mkv")
    assert "audio=" not in source(page)  # English, the file's default, for an English phone
    play_until(page, 5)
    before = page.eval_on_selector(VIDEO, "v => v.currentTime")
    with page.expect_response("**/api/progress") as saved:
        choose(page, "French")
    assert json.loads(saved.value.request.post_data)["audio"] == 2
    page.wait_for_function("() => /audio=2/.test(document.querySelector('#video').dataset.source)")
    play_until(page, before)
    after = page.eval_on_selector(VIDEO, "v => v.currentTime")
    assert after - before < 1.5  # it went on from where it was (plus the time to switch)
    shown = page.evaluate(READ_FRAME_JS, VIDEO)
    assert abs(frame_time(shown["number"]) - shown["mediaTime"]) < 0.1
    page.eval_on_selector(VIDEO, "v => v.pause()")
    context.close()

    again = keyed_context(chromium, server, locale="en-US", **PHONE)
    page = open_player(again, server, "Tracks.mkv")
    assert re.search(r"[?&]audio=2(&|$)", source(page))  # the file's choice beats the phone's language
    assert page.errors == []
    again.close()


def magenta_rows(page) -> dict:
    """Magenta pixels (the ASS sign's box) in the top and bottom halves of the picture on screen."""
    return page.eval_on_selector(VIDEO, """v => {
      const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext('2d', {willReadFrequently: true}); g.drawImage(v, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data; const count = {top: 0, bottom: 0};
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (d[i] > 180 && d[i + 1] < 90 && d[i + 2] > 180) count[y < c.height / 2 ? 'top' : 'bottom']++;
      }
      return count; }""")


def test_styled_and_picture_subtitles_are_drawn_into_the_picture(chromium, server):
    context = keyed_context(chromium, server, locale="en-US", **PHONE)
    page = open_player(context, server, "Tracks.mkv")
    play_until(page, 2)
    assert magenta_rows(page) == {"top": 0, "bottom": 0}
    choose(page, "Styled")
    page.wait_for_function("() => /burn=0/.test(document.querySelector('#video').dataset.source)")
    play_until(page, 3)
    assert page.eval_on_selector(VIDEO, "v => v.dataset.playback") == "transcode"
    sign = magenta_rows(page)
    assert sign["top"] > 500 and sign["bottom"] == 0, sign  # the sign, at the top where ASS put it
    page.screenshot(path=str(Path("/tmp") / "couchcast-tracks-ass.png"))
    choose(page, "VobSub")
    page.wait_for_function("() => /burn=1/.test(document.querySelector('#video').dataset.source)")
    page.eval_on_selector(VIDEO, "v => { v.currentTime = 31; }")
    play_until(page, 31.5)
    assert magenta_rows(page)["top"] == 0
    page.screenshot(path=str(Path("/tmp") / "couchcast-tracks-vobsub.png"))
    band = page.eval_on_selector(VIDEO, """v => {
      const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext('2d', {willReadFrequently: true}); g.drawImage(v, 0, 0);
      const d = g.getImageData(80, 95, 160, 30).data; let n = 0;
      // The plain film's background is #335577; the subtitle's letters are far from it.
      const far = (i) => Math.abs(d[i] - 0x33) + Math.abs(d[i + 1] - 0x55) + Math.abs(d[i + 2] - 0x77);
      for (let i = 0; i < d.length; i += 4) if (far(i) > 150) n++;
      return n; }""")
    assert band > 100
    assert page.errors == []
    context.close()


def test_forced_subtitles_are_on_by_default(chromium, server):
    context = keyed_context(chromium, server, locale="en-US", **PHONE)
    page = open_player(context, server, "Forced.mkv")
    page.wait_for_function(
        "() => [...document.querySelector('#video').textTracks].some(t => t.mode === 'showing')"
    )
    showing = page.eval_on_selector(
        VIDEO, "v => [...v.textTracks].filter(t => t.mode === 'showing').map(t => t.label)"
    )
    assert showing == ["English · Forced"]
    page.tap("#tracks")
    assert page.is_checked("#subtitle-choices input[value='e1']")
    assert page.is_hidden("#audio-choices")  # one sound track: nothing to choose there
    page.wait_for_timeout(3500)  # past the time the browser makes its own choice of tracks
    assert page.eval_on_selector(
        VIDEO, "v => [...v.textTracks].filter(t => t.mode === 'showing').map(t => t.label)"
    ) == ["English · Forced"]
    assert page.errors == []
    context.close()
