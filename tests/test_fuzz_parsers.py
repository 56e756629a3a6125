"""Property-based tests (Hypothesis) for the parsers that read what strangers write: a phone's Range
header, the text ffmpeg prints about a file someone downloaded, that file's subtitles (SubRip to
WebVTT) and its Matroska index (Cues).

Each parser must, for any input: raise nothing but its own exception, return values inside what the
input allows, and take time that grows linearly with the input. The last is checked without a
stopwatch bound: the CPU time for an input ten times longer must stay within a generous multiple of
the short one's (a regular expression that backtracks grows a hundredfold). Examples are derived from
the test's name (derandomize), so every run, CI included, tries the same inputs.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.library.probe import stream_names
from server.library.subtitles import _without_tags, srt_to_vtt, to_vtt
from server.streaming.ranges import MAX_RANGES, ByteRange, Unsatisfiable, parse_range_header
from server.transcode.media import MediaError, read_timeline
from tests.test_matroska import element

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
    """Whatever ffmpeg printed (a file's metadata is part of it), the probe's fallback reads stream
    names from it without error: a 5,000-digit stream number is no ValueError."""
    stream_names(text)


@FUZZ
@given(ffmpeg_text)
def test_stream_names_say_only_what_the_text_says(text):
    """Every name is a piece of the text, every stream number one ffmpeg can print."""
    for index, (codec, tag) in stream_names(text).items():
        assert 0 <= index < 10**6
        assert codec in text and (tag is None or tag in text)


def test_the_ffmpeg_parser_reads_a_real_description():
    """The example the fuzzing starts from is read right: the properties hold on real text too."""
    assert stream_names(FFMPEG_SAYS) == {0: ("h264", "avc1"), 1: ("aac", "mp4a")}


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
    assert_linear(stream_names, prefix, unit, "")


# --- Subtitles ----------------------------------------------------------------------------------------

# The tag-cleaning regular expression the converter once used: right, and fine on short lines, but it
# tried every tag start against the rest of the line (17 s on a 200 KB one). The scanner must agree.
SIMPLE_TAG_REGEX = re.compile(r"</?font[^>]*>|\{\\[^}]*\}", re.IGNORECASE)
# Pieces of SubRip files, and of the tags and timings a hostile one repeats.
SUBRIP_PIECES = [
    "1", "\n", "\r", "\r\n", " ", "\t", "00:00:01,000", "0:0:2", ",5", " --> ", "-->", "<font", "<FONT ",
    "</font>", ">", "{\\", "{\\an8}", "}", "<b>", "</I>", "<u>", "é", "\ufeff", "\x00", "9" * 6, "a",
]  # fmt: skip
subrip_text = st.one_of(
    st.lists(st.sampled_from(SUBRIP_PIECES), max_size=80).map("".join),
    st.text(max_size=300),
)
WEBVTT_TIMING = re.compile(r"^\d{2,}:\d\d:\d\d\.\d{3} --> \d{2,}:\d\d:\d\d\.\d{3}$")


@FUZZ
@given(
    st.one_of(subrip_text.map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary(max_size=400))
)
@example(b"\xff\xfe" + "1\n0:0:1 --> 0:0:2\nhi".encode("utf-16-le"))
@example(b"\x00\x00\xfe\xff")
def test_subtitle_converter_raises_nothing(data):
    """Any bytes named .srt or .vtt give text: every encoding guess falls back to one that cannot fail."""
    assert to_vtt(data, ".srt").startswith("WEBVTT\n")
    assert isinstance(to_vtt(data, ".vtt"), str)


@FUZZ
@given(subrip_text)
def test_converted_subtitles_are_webvtt_whose_only_arrows_are_timings(text):
    """The output has the WEBVTT header, line ends the browser reads (no CR), an arrow only in a
    well-formed timing line (a text line cannot start a cue), and never two blank lines in a row."""
    vtt = srt_to_vtt(text)
    lines = vtt.split("\n")
    assert lines[:2] == ["WEBVTT", ""] or vtt == "WEBVTT\n"
    assert "\r" not in vtt
    assert vtt.endswith("\n")
    assert "\n\n\n" not in vtt
    for line in lines:
        assert "-->" not in line or WEBVTT_TIMING.match(line), line


@FUZZ
@given(st.lists(st.sampled_from(["<font", "</FONT", "<fOnT x=1>", ">", "{\\", "{\\i1}", "}", "a", " ", "<"]))
       .map("".join))  # fmt: skip
def test_tag_removal_agrees_with_the_simple_regex(line):
    """On lines short enough for it, the linear tag scanner removes exactly what the old regex did."""
    assert _without_tags(line) == SIMPLE_TAG_REGEX.sub("", line)


@settings(FUZZ_TIMING, max_examples=60)
@given(
    st.lists(st.sampled_from(SUBRIP_PIECES), max_size=3).map("".join),
    st.lists(st.sampled_from(SUBRIP_PIECES), min_size=1, max_size=4).map("".join),
)
@example(prefix="1\n00:00:01,000 --> 00:00:02,000\n", unit="<font")
@example(prefix="1\n00:00:01,000 --> 00:00:02,000\n", unit="{\\")
@example(prefix="", unit="\r")
@example(prefix="", unit=" \n")
def test_subtitle_conversion_time_grows_linearly(prefix, unit):
    """Ten times the file costs about ten times the CPU: a subtitle file comes from anywhere, and its
    conversion shares the GIL with every viewer's request."""
    assert_linear(srt_to_vtt, prefix, unit, "\n")


# --- Matroska files, read with PyAV (the timeline of a conversion) ---------------------------------

# Matroska element ids (the Matroska specification's), those a reader of Cues walks through.
EBML, SEGMENT = 0x1A45DFA3, 0x18538067
SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TIMESTAMP_SCALE = 0x1549A966, 0x2AD7B1
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x83
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS, CUE_TRACK = 0x1C53BB6B, 0xBB, 0xB3, 0xB7, 0xF7
CLUSTER, CLUSTER_TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0x1F43B675, 0xE7, 0xA3, 0xA0, 0xA1

EBML_IDS = [
    EBML, SEGMENT, SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION, INFO, TIMESTAMP_SCALE, TRACKS,
    TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE, CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS,
    CUE_TRACK, CLUSTER, CLUSTER_TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK, 0xEC,
]  # fmt: skip
# Element payloads that trouble a reader: empty, one byte, a 200-byte integer, a varint with no end.
ebml_values = st.one_of(
    st.integers(0, 2**16).map(lambda n: n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")),
    st.sampled_from([b"", b"\x00", b"\xff" * 8, b"\xff" * 200, b"\x00" * 9, b"\x01"]),
    st.binary(max_size=16),
)


def ebml_id(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def ebml_element(number: int, data: bytes, size: int | None = None) -> bytes:
    return element(ebml_id(number), data, size)


@st.composite
def ebml_elements(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A run of elements with the reader's own ids: nested, with odd values and sizes that may lie."""
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        number = draw(st.sampled_from(EBML_IDS))
        nested = depth < 3 and draw(st.booleans())
        data = draw(ebml_elements(depth + 1)) if nested else draw(ebml_values)
        lie = draw(st.one_of(st.none(), st.integers(0, 2**56 - 2)))
        out += ebml_element(number, data, lie)
    return out


def matroska_file(cues: bytes | None, *, before: bytes = b"", scale: bytes = b"\x0f\x42\x40") -> bytes:
    """A Matroska file the reader accepts: `before` (a SeekHead, say), a video track 1, `cues` as the
    Cues' content (no Cues element for None), one Cluster."""
    track_fields = ebml_element(TRACK_NUMBER, b"\x01") + ebml_element(TRACK_TYPE, b"\x01")
    block = ebml_element(SIMPLE_BLOCK, b"\x81\x00\x00\x80" + b"\x00" * 8)
    segment = (
        before
        + ebml_element(INFO, ebml_element(TIMESTAMP_SCALE, scale))
        + ebml_element(TRACKS, ebml_element(TRACK_ENTRY, track_fields))
        + (b"" if cues is None else ebml_element(CUES, cues))
        + ebml_element(CLUSTER, ebml_element(CLUSTER_TIMESTAMP, b"\x00") + block)
    )
    return ebml_element(EBML, b"\x42\x86\x81\x01") + ebml_element(SEGMENT, segment)


def seek_head(entries: list[tuple[int, bytes]]) -> bytes:
    """A SeekHead: for each (element id, position bytes), a Seek saying where that element is."""
    seeks = (
        ebml_element(SEEK, ebml_element(SEEK_ID, ebml_id(number)) + ebml_element(SEEK_POSITION, where))
        for number, where in entries
    )
    return ebml_element(SEEK_HEAD, b"".join(seeks))


def cue_point(time: bytes, track: bytes = b"\x01") -> bytes:
    positions = ebml_element(CUE_TRACK_POSITIONS, ebml_element(CUE_TRACK, track))
    return ebml_element(CUE_POINT, ebml_element(CUE_TIME, time) + positions)


def read_cues(data: bytes) -> list[float] | None:
    """The keyframes a conversion would cut at, from a file of these bytes; None when it is refused."""
    with tempfile.NamedTemporaryFile(suffix=".mkv") as file:
        file.write(data)
        file.flush()
        try:
            return list(read_timeline(file.name, 0).keyframes)
        except MediaError:
            return None


matroska_bytes = st.one_of(
    ebml_elements().map(matroska_file),
    st.tuples(ebml_elements(), ebml_elements()).map(lambda parts: matroska_file(parts[0], before=parts[1])),
    st.tuples(st.lists(ebml_values, max_size=6), ebml_values).map(
        lambda parts: matroska_file(b"".join(cue_point(t) for t in parts[0]), scale=parts[1])
    ),
    st.lists(st.tuples(st.sampled_from([INFO, TRACKS, CUES]), ebml_values), max_size=3).map(
        lambda entries: matroska_file(None, before=seek_head(entries))
    ),
    st.tuples(ebml_elements(), st.integers(0, 400)).map(lambda parts: matroska_file(parts[0])[: parts[1]]),
    ebml_elements(),
)
MATROSKA_FUZZ = settings(FUZZ, max_examples=150)  # each example is a file written and read


@MATROSKA_FUZZ
@given(matroska_bytes)
@example(matroska_file(cue_point(b"\xff" * 200)))
@example(matroska_file(None, before=seek_head([(CUES, b"\xff" * 200)])))
@example(matroska_file(None, before=seek_head([(CUES, b"\xff" * 8)])))
def test_a_damaged_matroska_file_gives_keyframes_or_a_media_error(data):
    """A CueTime of 200 bytes, a SeekHead past the end of any file, sizes that lie: the timeline
    reader answers keyframes or MediaError (a 422 with words), never another exception (a 500)."""
    read_cues(data)


@MATROSKA_FUZZ
@given(matroska_bytes)
def test_keyframes_of_a_damaged_matroska_file_are_sorted_and_finite(data):
    times = read_cues(data)
    if times is not None:
        assert times == sorted(times) and all(math.isfinite(time) for time in times)
