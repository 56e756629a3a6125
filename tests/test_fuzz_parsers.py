"""Property-based tests (Hypothesis) for the parsers that read what strangers write: a phone's Range
header and the text ffmpeg prints about a file someone downloaded.

Each parser must, for any input: raise nothing but its own exception, return values inside what the
input allows, and take time that grows linearly with the input. The last is checked without a
stopwatch bound: the CPU time for an input ten times longer must stay within a generous multiple of
the short one's (a regular expression that backtracks grows a hundredfold). Examples are derived from
the test's name (derandomize), so every run, CI included, tries the same inputs.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.library.probe import parse_ffmpeg_output
from server.streaming.ranges import MAX_RANGES, ByteRange, Unsatisfiable, parse_range_header

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Timing examples run the parser six times each on up to 20,000 characters: fewer of them.
FUZZ_TIMING = settings(FUZZ, max_examples=120)

SHORT = 2_000
LONG = 10 * SHORT
# Linear growth makes the long input cost about 10x the short one; quadratic, 100x. 30x plus 20 ms
# of slack for a busy machine still fails every quadratic case found so far by a wide margin.
LINEAR_RATIO = 30
SLACK_SECONDS = 0.02


def cpu_seconds(parse: Callable[[str], object], text: str) -> float:
    """CPU time of one parse, the least of three: time the machine spent elsewhere is not the parser's."""
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        parse(text)
        best = min(best, time.process_time() - start)
    return best


def repeated(prefix: str, unit: str, suffix: str, length: int) -> str:
    return prefix + unit * (length // len(unit)) + suffix


def assert_linear(parse: Callable[[str], object], prefix: str, unit: str, suffix: str) -> None:
    short = cpu_seconds(parse, repeated(prefix, unit, suffix, SHORT))
    long = cpu_seconds(parse, repeated(prefix, unit, suffix, LONG))
    assert long <= LINEAR_RATIO * short + SLACK_SECONDS, f"{SHORT} chars: {short:.4f} s, {LONG}: {long:.4f} s"


# --- Range headers ---------------------------------------------------------------------------------

# Numbers as a client may send them: small, near a file's size, 18-19 digits, thousands of digits.
digits = st.one_of(
    st.integers(0, 3000).map(str),
    st.integers(0, 10**20).map(str),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(1, 50).map(lambda n: "0" * n + "7"),
)
blank = st.sampled_from(["", " ", "\t", "  "])
range_spec = st.one_of(
    st.tuples(blank, digits, blank, st.just("-"), blank, digits, blank).map("".join),
    st.tuples(blank, digits, blank, st.just("-"), blank).map("".join),
    st.tuples(blank, st.just("-"), blank, digits, blank).map("".join),
    st.text(alphabet="0123456789- \t,=x", max_size=8),
)
range_header = st.one_of(
    st.tuples(
        st.sampled_from(["bytes=", "BYTES =", "bytes =", "items=", "bytes", "="]),
        st.lists(range_spec, max_size=MAX_RANGES + 3).map(",".join),
    ).map("".join),
    st.text(max_size=60),
)
file_size = st.one_of(st.integers(0, 3000), st.integers(0, 2**63))


def range_pieces(*, min_size: int = 0, max_size: int) -> st.SearchStrategy[str]:
    """A few characters that mean something in a Range header: few enough that runs of one are likely."""
    pieces = st.sampled_from([" ", "\t", "0", "7", "-", ",", "=", "x"])
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


def parse_or_unsatisfiable(header: str, size: int) -> list[ByteRange] | None | Unsatisfiable:
    try:
        return parse_range_header(header, size)
    except Unsatisfiable as refusal:
        return refusal


@FUZZ
@given(range_header, file_size)
def test_range_parser_raises_nothing_but_unsatisfiable(header, size):
    """Any header, any size: ranges, None (ignore the header) or Unsatisfiable (416), never a 500."""
    parse_or_unsatisfiable(header, size)


@FUZZ
@given(range_header, file_size)
def test_parsed_ranges_lie_inside_the_file(header, size):
    """Every range sent starts and ends inside the file, and ends no earlier than it starts."""
    ranges = parse_or_unsatisfiable(header, size)
    if isinstance(ranges, list):
        assert ranges
        assert all(0 <= r.start <= r.end < size for r in ranges)


@FUZZ
@given(range_header, file_size)
def test_parsed_ranges_are_sorted_and_merged(header, size):
    """Ranges come in file order, and two that overlap or touch are one: no byte is sent twice."""
    ranges = parse_or_unsatisfiable(header, size)
    if isinstance(ranges, list):
        assert all(earlier.end + 1 < later.start for earlier, later in pairwise(ranges))


@FUZZ
@given(range_header, file_size)
def test_parsed_ranges_never_amplify_the_file(header, size):
    """At most MAX_RANGES ranges, adding up to no more than the file: a request cannot make the server
    send more than the file itself."""
    ranges = parse_or_unsatisfiable(header, size)
    if isinstance(ranges, list):
        assert len(ranges) <= MAX_RANGES
        assert sum(r.length for r in ranges) <= size


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(0, 400), st.integers(0, 400)).map(lambda ab: (min(ab), max(ab))),
            st.tuples(st.integers(0, 400), st.none()),
            st.tuples(st.none(), st.integers(0, 400)),
        ),
        min_size=1,
        max_size=MAX_RANGES,
    ),
    st.integers(1, 300),
)
def test_parsed_ranges_cover_exactly_the_bytes_asked_for(specs, size):
    """Sorting, merging and clamping lose no byte that was asked for and add none that was not."""
    header = "bytes=" + ",".join(f"{'' if a is None else a}-{'' if b is None else b}" for a, b in specs)
    asked: set[int] = set()
    for first, last in specs:
        if first is None:
            asked.update(range(max(size - last, 0), size))
        else:
            asked.update(range(first, min(size - 1, size if last is None else last) + 1))
    ranges = parse_or_unsatisfiable(header, size)
    if isinstance(ranges, list):
        assert {byte for r in ranges for byte in range(r.start, r.end + 1)} == asked
    elif isinstance(ranges, Unsatisfiable):
        assert not asked


@FUZZ_TIMING
@given(range_pieces(max_size=3), range_pieces(min_size=1, max_size=4), range_pieces(max_size=3))
@example(prefix="", unit=" ", suffix="x")
@example(prefix="", unit=" ", suffix="1 ")
def test_range_parser_time_grows_linearly_with_the_header(prefix, unit, suffix):
    """A header ten times longer costs about ten times the CPU, never a hundred: waitress accepts
    256 KB of headers, and one parse holds the GIL, so a slow one stalls every viewer."""
    assert_linear(lambda text: parse_or_unsatisfiable(text, 10**9), "bytes=" + prefix, unit, suffix)


# --- ffmpeg's description of a file ----------------------------------------------------------------

# What `ffmpeg -i` printed for a real MP4 (made by ffmpeg here), as the template for near-misses.
FFMPEG_SAYS = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Metadata:
    major_brand     : isom
    encoder         : Lavf63.1.102
  Duration: 00:00:01.00, start: 0.000000, bitrate: 816 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), \
320x240 [SAR 1:1 DAR 4:3], 728 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Metadata:
      handler_name    : VideoHandler
      title           : line one
                      : two
  Stream #0:1[0x2](fre): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 70 kb/s (default)
At least one output file must be specified
"""
# Pieces of ffmpeg's lines, and what a file's own metadata (a title, a file name) can put among them.
FFMPEG_PIECES = [
    "Input #0, ", "Duration: ", "Stream #0:", "title", ": ", "Video: ", "Audio: ", "Subtitle: ", "h264",
    "(", ")", "[0x1]", "(avc1 / 0x31637661)", ", from ", ", ", "x", ":", ".", "\n", "\r", " ", "\t", "0",
    "9", "99999", "9" * 400, "9" * 5000, "(attached pic)",
]  # fmt: skip


@st.composite
def ffmpeg_lines(draw: st.DrawFn) -> str:
    """Lines ffmpeg prints, some of their numbers swapped for others (thousands of digits included)."""
    lines = draw(st.lists(st.sampled_from(FFMPEG_SAYS.splitlines()), min_size=1, max_size=20))
    return "\n".join(
        re.sub(r"\d+", lambda number: draw(digits) if draw(st.booleans()) else number.group(), line)
        for line in lines
    )


ffmpeg_text = st.one_of(
    ffmpeg_lines(),
    st.lists(st.sampled_from(FFMPEG_PIECES), max_size=60).map("".join),
    st.text(max_size=200),
)


@FUZZ
@given(ffmpeg_text)
@example(FFMPEG_SAYS.replace("00:00:01.00", "9" * 5000 + ":00:01.00"))
@example(FFMPEG_SAYS.replace("00:00:01.00", "9" * 400 + ":00:01.00"))
@example(FFMPEG_SAYS.replace("#0:1[", "#0:" + "1" * 5000 + "["))
def test_ffmpeg_output_parser_raises_nothing(text):
    """Whatever ffmpeg printed (a file's metadata is part of it), parsing gives a MediaInfo: a
    5,000-digit number is no ValueError, an hour count past a float no OverflowError."""
    parse_ffmpeg_output(text)


@FUZZ
@given(ffmpeg_text)
def test_parsed_media_info_says_only_what_the_text_says(text):
    """Every name in the result is a piece of the text, every number one ffmpeg can print: a finite
    duration, a stream index, a picture size of at most 5 digits each way."""
    info = parse_ffmpeg_output(text)
    assert info.duration is None or 0 <= info.duration < math.inf
    assert info.container is None or info.container in text
    for stream in info.streams:
        assert stream.kind in ("video", "audio", "subtitle")
        assert 0 <= stream.index < 10**6
        for name in (stream.codec, stream.profile, stream.tag, stream.language, stream.title):
            assert name is None or name in text
        for side in (stream.width, stream.height):
            assert side is None or 0 <= side <= 99999


def test_the_ffmpeg_parser_reads_a_real_description():
    """The example the fuzzing starts from is read as before: the properties hold on real text too."""
    info = parse_ffmpeg_output(FFMPEG_SAYS)
    assert (info.container, info.duration) == ("mov,mp4,m4a,3gp,3g2,mj2", 1.0)
    video, audio = info.streams
    assert (video.codec, video.tag, video.width, video.height, video.title) == (
        "h264",
        "avc1",
        320,
        240,
        "line one",
    )
    assert (audio.codec, audio.profile, audio.language) == ("aac", "LC", "fre")


@FUZZ_TIMING
@given(
    st.text(max_size=30), st.lists(st.sampled_from(FFMPEG_PIECES[:-3]), min_size=1, max_size=4).map("".join)
)
@example(prefix="", unit="\n")
@example(prefix="", unit="Input #0, a\n")
@example(prefix="", unit="Stream #0:0(\n")
@example(prefix="  Stream #0:0: Video: h264\n", unit=" \n")
def test_ffmpeg_output_parser_time_grows_linearly(prefix, unit):
    """Ten times the text costs about ten times the CPU: ffmpeg prints a file's metadata, whose lines
    (thousands of blank ones, say) come from whoever made the file, and a probe holds the GIL."""
    assert_linear(parse_ffmpeg_output, prefix, unit, "")
