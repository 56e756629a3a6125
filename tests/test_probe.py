"""The probe reads files with PyAV and gives what the `ffmpeg -i` scraper gave, value for value.

Rows the scraper wrote are in users' databases and the rest of Couchcast compares its spellings, so
every file of a corpus made with ffmpeg (tests/probe_corpus.py) is probed both ways and compared
field by field. The old scraper is kept, unchanged, in tests/ffmpeg_text_probe.py rather than as
expected values: it is the reference itself, so a file added to the corpus (or another ffmpeg build)
is checked without anyone writing down what the scraper would have said. A few expected values are
asserted as well, so that both reading the same wrong thing would not pass.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, replace

import pytest

from server.library import probe as probe_module
from server.library.probe import MediaInfo, ProbeError, Stream, probe
from tests import ffmpeg_text_probe
from tests.probe_corpus import BROKEN, make_corpus

# What the scraper stored as a "profile" was, for these, the decoder's name that `ffmpeg -i` prints
# in parentheses when it differs from the codec's ("Audio: mp2 (mp3float)", "Subtitle: ass (ssa)",
# "Subtitle: subrip (srt)", "Subtitle: dvd_subtitle (dvdsub)", "Video: av1 (libdav1d) (Main)"). The
# new probe gives the codec's real profile (None for these). No code reads a profile of these codecs
# (codecs.py reads H.264, HEVC, VP9 and AAC ones, whose decoders share the codec's name).
DECODER_NAMES = frozenset({"mp3float", "mp3", "ssa", "srt", "dvdsub", "pgssub", "libdav1d", "dca"})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def as_the_scraper_meant(info: MediaInfo) -> MediaInfo:
    streams = tuple(
        replace(stream, profile=None) if stream.profile in DECODER_NAMES else stream
        for stream in info.streams
    )
    return replace(info, streams=streams)


def differences(old: MediaInfo, new: MediaInfo) -> list[str]:
    found = [
        f"{key}: {getattr(old, key)!r} != {getattr(new, key)!r}"
        for key in ("container", "duration")
        if getattr(old, key) != getattr(new, key)
    ]
    if len(old.streams) != len(new.streams):
        return [*found, f"streams: {old.streams} != {new.streams}"]
    for before, after in zip(old.streams, new.streams, strict=True):
        for key, value in asdict(before).items():
            if getattr(after, key) != value:
                found.append(f"stream {before.index} {key}: {value!r} != {getattr(after, key)!r}")
    return found


def test_every_file_probes_as_the_scraper_read_it(corpus):
    mismatches = {}
    for name, path in sorted(corpus.items()):
        if name in BROKEN:
            continue
        old = as_the_scraper_meant(ffmpeg_text_probe.probe(str(path)))
        new = probe(str(path))
        if old != new:
            mismatches[name] = differences(old, new)
        # And the JSON stored in the database is the same, key for key.
        assert new.to_json() == old.to_json() or name in mismatches
    assert not mismatches, mismatches


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_is_a_probe_error_both_ways(corpus, name):
    with pytest.raises(ProbeError):
        ffmpeg_text_probe.probe(str(corpus[name]))
    with pytest.raises(ProbeError, match="found no audio or video in .*" + name):
        probe(str(corpus[name]))


def test_the_spellings_callers_compare_against(corpus):
    tracks = probe(str(corpus["tracks.mkv"]))
    assert tracks.container == "matroska,webm" and tracks.duration == 59.0  # the ASS sign lasts 59 s
    video, sound = tracks.video, tracks.audio
    assert (video.codec, video.profile, video.width, video.height) == (
        "h264",
        "Constrained Baseline",
        320,
        180,
    )
    assert [(s.codec, s.channels, s.language, s.default) for s in sound] == [
        ("ac3", "5.1(side)", "eng", True),
        ("aac", "stereo", "fre", False),
        ("opus", "mono", None, False),  # "und" is no language
    ]
    assert sound[2].title == "Director's"  # the first line of a two-line title
    assert [(s.codec, s.language, s.forced, s.title) for s in tracks.subtitles] == [
        ("ass", "eng", False, None),
        ("subrip", "ger", True, "Signs & songs"),
        ("dvd_subtitle", "spa", False, "Pic?ture trackX"),  # control characters as ffmpeg printed them
    ]

    hdr10, hlg = probe(str(corpus["hdr10.mkv"])).video, probe(str(corpus["hlg.mp4"])).video
    assert (hdr10.codec, hdr10.profile, hdr10.color_transfer, hdr10.color_primaries, hdr10.field_order) == (
        "hevc",
        "Main 10",
        "smpte2084",
        "bt2020",
        "progressive",
    )
    assert (hlg.tag, hlg.color_transfer, hlg.color_primaries) == ("hvc1", "arib-std-b67", "bt2020")
    assert probe(str(corpus["dolby-vision-8.mp4"])).video.dolby_vision == 8
    five = probe(str(corpus["dolby-vision-5.mp4"])).video
    assert (five.dolby_vision, five.tag, five.color_transfer) == (5, "dvh1", None)
    assert probe(str(corpus["tv-mpeg2.ts"])).video.field_order == "top first"
    assert probe(str(corpus["camcorder.mts"])).video.field_order == "bottom first"

    # The stored size is the coded one: the display matrix turns it on the screen.
    portrait = probe(str(corpus["portrait.mov"])).video
    assert (portrait.width, portrait.height, portrait.color_transfer) == (320, 180, "bt709")
    anamorphic = probe(str(corpus["anamorphic.avi"]))
    assert (anamorphic.container, anamorphic.video.codec, anamorphic.video.tag) == ("avi", "mpeg4", "XVID")
    assert (anamorphic.video.width, anamorphic.video.height) == (720, 576)
    tiny = probe(str(corpus["tiny.mkv"])).video  # only the matrix tagged; too small for a size
    assert (tiny.width, tiny.color_primaries, tiny.color_transfer) == (None, "unknown", "unknown")

    broadcast = probe(str(corpus["broadcast.ts"]))
    assert broadcast.container == "mpegts" and broadcast.video.tag is None  # "[27][0][0][0]"
    assert broadcast.audio[0].language == "por"
    assert [(s.codec, s.tag) for s in probe(str(corpus["ttml.mp4"])).subtitles] == [("ttml", "stpp")]


def test_sound_files_and_cover_art(corpus):
    mp3 = probe(str(corpus["song.mp3"]))
    assert (mp3.container, mp3.video, [s.codec for s in mp3.streams]) == ("mp3", None, ["mp3"])
    m4a = probe(str(corpus["song.m4a"]))
    assert (m4a.container, m4a.audio[0].codec, m4a.audio[0].tag) == (
        "mov,mp4,m4a,3gp,3g2,mj2",
        "alac",
        "alac",
    )
    flac = probe(str(corpus["song.flac"]))
    assert (flac.container, flac.duration, flac.audio[0].channels) == ("flac", 2.0, "mono")


def test_ordinary_files_start_no_process(corpus, monkeypatch):
    """Only a stream without a decoder in PyAV (TTML here) makes the probe ask `ffmpeg -i`."""

    def no_process(*args, **kwargs):
        raise AssertionError("ffmpeg was started")

    monkeypatch.setattr(probe_module.subprocess, "run", no_process)
    for name in ("h264-bframes.mp4", "tracks.mkv", "dolby-vision-8.mp4", "song.mp3", "tv-mpeg2.ts"):
        probe(str(corpus[name]))
    with pytest.raises(AssertionError, match="ffmpeg was started"):
        probe(str(corpus["ttml.mp4"]))


def test_without_ffmpeg_a_stream_without_a_decoder_is_named_none(corpus, monkeypatch):
    monkeypatch.setattr(probe_module, "ffmpeg_binary", lambda: None)
    assert [s.codec for s in probe(str(corpus["ttml.mp4"])).subtitles] == ["none"]


def test_rows_written_by_the_scraper_still_load(corpus):
    """A row as the scraper stored it (decoder name as profile included) reads back as it was, and
    a new probe's JSON reads back equal to the probe."""
    row = ffmpeg_text_probe.probe(str(corpus["tv-mpeg2.ts"])).to_json()
    assert row["streams"][1]["profile"] == "mp3float"
    assert MediaInfo.from_json(row).to_json() == row
    new = probe(str(corpus["tracks.mkv"]))
    assert MediaInfo.from_json(new.to_json()) == new
    # Rows from before the probe knew channels and dispositions lack them.
    oldest = {"container": "avi", "duration": 3.0, "streams": [{"index": 0, "kind": "audio", "codec": "mp3"}]}
    assert MediaInfo.from_json(oldest).audio == (Stream(0, "audio", "mp3"),)


def test_what_is_not_a_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    started = time.monotonic()
    refused = [
        (fifo, "not a regular file"),
        (tmp_path, "not a regular file"),
        (tmp_path / "gone.mkv", "cannot be read"),
    ]
    for path, message in refused:
        with pytest.raises(ProbeError, match=message):
            probe(str(path))
    assert time.monotonic() - started < 1


def test_a_huge_bogus_file_is_read_only_so_far(tmp_path):
    """20 GB of nothing (sparse): libavformat gives up after its probe size, in well under a second."""
    bogus = tmp_path / "huge.ts"
    with open(bogus, "wb") as file:
        file.truncate(20 * 1024**3)
    started = time.monotonic()
    with pytest.raises(ProbeError):
        probe(str(bogus))
    assert time.monotonic() - started < 5


def test_a_slow_read_ends_at_the_timeout(corpus, monkeypatch):
    monkeypatch.setattr(probe_module, "PROBE_TIMEOUT", 1e-9)
    with pytest.raises(ProbeError, match="took longer than"):
        probe(str(corpus["tracks.mkv"]))
