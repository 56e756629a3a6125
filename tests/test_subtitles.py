"""The subtitle converter: any common encoding in, UTF-8 WebVTT the browser takes out, once per file."""

from __future__ import annotations

import codecs
import http.client
import os
import threading
import time

import pytest

from server.library.subtitles import decode, srt_to_vtt, to_vtt
from tests.helpers import make_video, start_server
from tests.inprocess import start_in_process

SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\nCafé crème, naïve façade\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\nÀ bientôt\n"
)


def cues(vtt: str) -> list[tuple[str, str]]:
    """(timing line, text) for each cue of a WebVTT text."""
    blocks = vtt.split("\n\n")
    assert blocks[0] == "WEBVTT"
    found = []
    for block in blocks[1:]:
        lines = [line for line in block.split("\n") if line]
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        found.append((lines[timing], "\n".join(lines[timing + 1 :])))
    return found


@pytest.mark.parametrize(
    "data",
    [
        SRT.encode("utf-8"),
        codecs.BOM_UTF8 + SRT.encode("utf-8"),
        codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SRT.encode("utf-16-be"),
        SRT.encode("utf-16-le"),
        SRT.encode("utf-16-be"),
        SRT.encode("cp1252"),
        SRT.encode("latin-1"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "cp1252", "latin1"],
)
def test_every_common_encoding_decodes_to_the_same_text(data):
    assert decode(data) == SRT


def test_cp1252_only_characters_survive():
    text = "1\n00:00:01,000 --> 00:00:02,000\n“Quotes” – and € sign\n"
    assert "“Quotes” – and € sign" in to_vtt(text.encode("cp1252"), ".srt")


def test_srt_becomes_webvtt_with_dot_millisecond_timings():
    assert cues(srt_to_vtt(SRT)) == [
        ("00:00:01.000 --> 00:00:02.500", "Café crème, naïve façade"),
        ("00:00:03.000 --> 00:00:04.000", "À bientôt"),
    ]


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ("1:02:03,5 --> 1:02:04,25", "01:02:03.500 --> 01:02:04.250"),
        ("00:00:01.000 --> 00:00:02.000", "00:00:01.000 --> 00:00:02.000"),
        ("00:01,200 --> 00:02,300", "00:00:01.200 --> 00:00:02.300"),
        ("00:00:01 --> 00:00:02", "00:00:01.000 --> 00:00:02.000"),
        ("0:0:1,000-->0:0:2,000", "00:00:01.000 --> 00:00:02.000"),
        ("00:00:01,000 --> 00:00:02,000  X1:100 X2:600 Y1:10 Y2:50", "00:00:01.000 --> 00:00:02.000"),
    ],
    ids=["short-hours-one-digit-fraction", "dots", "no-hours", "no-fraction", "no-spaces", "coordinates"],
)
def test_odd_timings_are_normalised(timing, expected):
    assert cues(srt_to_vtt(f"1\n{timing}\nText\n"))[0][0] == expected


def test_crlf_and_cr_line_ends_are_handled():
    assert cues(srt_to_vtt(SRT.replace("\n", "\r\n"))) == cues(srt_to_vtt(SRT))
    assert cues(srt_to_vtt(SRT.replace("\n", "\r"))) == cues(srt_to_vtt(SRT))


def test_missing_trailing_blank_line_keeps_the_last_cue():
    vtt = srt_to_vtt("1\n00:00:01,000 --> 00:00:02,000\nLast words")
    assert cues(vtt) == [("00:00:01.000 --> 00:00:02.000", "Last words")]
    assert vtt.endswith("Last words\n")


def test_missing_blank_line_between_cues_still_gives_two_cues():
    text = "1\n00:00:01,000 --> 00:00:02,000\nOne\n2\n00:00:03,000 --> 00:00:04,000\nTwo\n"
    assert [text for _, text in cues(srt_to_vtt(text))] == ["One", "Two"]


def test_styling_tags_webvtt_knows_are_kept_and_lower_cased():
    vtt = srt_to_vtt("1\n00:00:01,000 --> 00:00:02,000\n<i>soft</i> <B>loud</B> <u>under</u>\n")
    assert cues(vtt)[0][1] == "<i>soft</i> <b>loud</b> <u>under</u>"


def test_font_tags_and_ass_overrides_are_dropped():
    vtt = srt_to_vtt('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<font color="#ffff00">Top</font>\n')
    assert cues(vtt)[0][1] == "Top"


def test_an_arrow_in_the_text_cannot_start_a_cue():
    vtt = srt_to_vtt("1\n00:00:01,000 --> 00:00:02,000\nleft --> right\n")
    assert cues(vtt)[0][1] == "left -> right"


def test_whitespace_only_separator_lines_still_separate_cues():
    text = "1\n00:00:01,000 --> 00:00:02,000\nOne\n   \n2\n00:00:03,000 --> 00:00:04,000\nTwo\n"
    assert [text for _, text in cues(srt_to_vtt(text))] == ["One", "Two"]


def test_vtt_files_pass_through_without_their_bom():
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n"
    assert to_vtt(codecs.BOM_UTF8 + vtt.encode(), ".vtt") == vtt
    assert to_vtt(codecs.BOM_UTF16_LE + vtt.encode("utf-16-le"), ".VTT") == vtt


def test_a_timing_line_with_a_huge_hour_number_stays_text_instead_of_failing():
    vtt = srt_to_vtt("1\n" + "9" * 5000 + ":00:01,000 --> 00:00:02,000\nhi\n")
    assert vtt.startswith("WEBVTT")
    assert "hi" in vtt


def test_runs_of_blank_lines_become_one_cue_separator():
    """Blank and white-space-only lines in a row say no more than one: the WebVTT has one blank line
    between cues (a file of millions of them once cost seconds and hundreds of MB per request)."""
    text = "1\n00:00:01,000 --> 00:00:02,000\nOne\n\n \n\t\n\n2\n00:00:03,000 --> 00:00:04,000\nTwo\n\n\n"
    assert srt_to_vtt(text) == (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nOne\n\n2\n00:00:03.000 --> 00:00:04.000\nTwo\n"
    )


# A line that made the old tag-cleaning regex try every "<font" against the rest of the line: 4.5-17 s
# for 200 KB, so over a minute for these 800 KB (the time grew with the square of the length), all of
# it holding the GIL, so every other request of the server waited.
HOSTILE_LINE = "<font" * 160_000


@pytest.fixture(scope="module")
def subtitle_server(tmp_path_factory):
    shared = tmp_path_factory.mktemp("subtitle-videos")
    make_video(shared / "clip.mp4", 1)
    (shared / "clip.srt").write_text(SRT, encoding="utf-8")
    (shared / "clip.hostile.srt").write_text(f"1\n00:00:01,000 --> 00:00:02,000\n{HOSTILE_LINE}\n")
    live = start_in_process([shared], tmp_path_factory.mktemp("subtitle-home"))
    live.shared = shared
    yield live
    live.stop()


def test_a_range_request_is_answered_while_a_hostile_subtitle_is_converted(subtitle_server):
    """While a .srt with an 800 KB line of "<font" is being asked for, a phone's fresh 1 KiB range
    request on a video is answered, and the subtitle itself comes back with that line kept as text."""
    subtitle = {}

    def ask_for_the_hostile_subtitle():
        subtitle["response"] = subtitle_server.request("/subtitles/1/clip.hostile.srt")

    asking = threading.Thread(target=ask_for_the_hostile_subtitle, daemon=True)
    asking.start()
    time.sleep(1)  # the subtitle request is in the server before the range request
    connection = http.client.HTTPConnection("127.0.0.1", subtitle_server.port, timeout=15)
    try:
        connection.request(
            "GET",
            "/media/1/clip.mp4",
            headers={"Range": "bytes=0-1023", "Cookie": f"couchcast_key={subtitle_server.key}"},
        )
        response = connection.getresponse()
        assert (response.status, len(response.read())) == (206, 1024)
    finally:
        connection.close()
    asking.join(15)
    assert subtitle["response"].status == 200
    assert HOSTILE_LINE.encode() in subtitle["response"].body


def test_a_subtitle_is_converted_once_per_version_of_the_file(subtitle_server):
    """The WebVTT is kept: asked again with its ETag it is a 304, not a new conversion; once the .srt
    changes, the new text is served under a new ETag."""
    first = subtitle_server.request("/subtitles/1/clip.srt")
    assert first.status == 200
    assert first.header("Content-Type") == "text/vtt; charset=utf-8"
    assert cues(first.body.decode())[0][1] == "Café crème, naïve façade"
    etag = first.header("ETag")
    assert etag
    again = subtitle_server.request("/subtitles/1/clip.srt", headers={"If-None-Match": etag})
    assert again.status == 304

    source = subtitle_server.shared / "clip.srt"
    source.write_text(SRT.replace("À bientôt", "See you"), encoding="utf-8")
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = subtitle_server.request("/subtitles/1/clip.srt", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert cues(changed.body.decode())[1][1] == "See you"
    assert changed.header("ETag") != etag


def test_subtitles_are_served_when_the_cache_cannot_be_written(tmp_path):
    """With no room for the converted file (here a file stands where the cache folder would be), the
    WebVTT is still served, converted for this request only."""
    shared = tmp_path / "videos"
    make_video(shared / "clip.mp4", 1)
    (shared / "clip.srt").write_text(SRT, encoding="utf-8")
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "subtitle-files").write_text("not a folder")
    live = start_server([shared], home)
    try:
        response = live.request("/subtitles/1/clip.srt")
    finally:
        live.stop()
    assert response.status == 200
    assert cues(response.body.decode())[0] == ("00:00:01.000 --> 00:00:02.500", "Café crème, naïve façade")
    assert "served without caching" in (home / "logs" / "couchcast.log").read_text()
