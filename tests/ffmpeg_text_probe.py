"""The probe Couchcast used before PyAV, kept as it was: `ffmpeg -i` run, its text read.

It is the reference the PyAV probe (server/library/probe.py) is compared with, file by file, in
tests/test_probe.py: rows it wrote are in users' databases, and every value it stored must come out
the same from the new probe (or differ only where test_probe.py says why). Only the imports of
MediaInfo, Stream and ProbeError changed, so results compare equal.
"""

from __future__ import annotations

import re
import subprocess

from server.ffmpeg import ffmpeg_binary
from server.library.probe import MediaInfo, ProbeError, Stream

PROBE_TIMEOUT = 30

# No pattern here can run past the end of a line ("[^\S\n]", not "\s"; "[^,\n]", not "[^,]"): it is
# tried at every line start, and one that runs on to the end of the text makes a text of many lines
# cost their number squared (40,000 blank lines took 2.6 s). A file's metadata, printed among these
# lines, can hold any number of them.
_INPUT = re.compile(r"^Input #0, ([^,\n]+(?:,[^,\n]+)*?), from ", re.MULTILINE)
# Numbers in ffmpeg's text have at most as many digits as ffmpeg can print there: the longest time
# it holds (2**63 microseconds) is 2,562,047,788 hours, 10 digits, and libavformat opens at most
# 1,000 streams by default. A line with more digits is not ffmpeg's: no int() of 5,000 digits
# (ValueError), no hour count beyond a float (OverflowError).
_DURATION = re.compile(r"Duration: (\d{1,10}):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(
    r"^[^\S\n]*Stream #0:(?P<index>\d{1,6})(?:\[0x[0-9a-fA-F]+\])?(?:\((?P<lang>[^)\n]*)\))?: "
    r"(?P<kind>Video|Audio|Subtitle): (?P<codec>[\w-]+)(?P<rest>.*)$",
    re.MULTILINE,
)
_PROFILE = re.compile(r"^ \(([^)/]+)\)")
_TAG = re.compile(r"\((\w{4}) / 0x[0-9A-Fa-f]+\)")
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})")
_TITLE = re.compile(r"^[^\S\n]+title[^\S\n]*: (.*)$", re.MULTILINE)
# The pixel format and what ffmpeg knows of the picture, as `yuv420p10le(tv, bt2020nc/bt2020/smpte2084,
# progressive)`: range, colour space/primaries/transfer (one name when all three are the same) and
# field order ("top first", "bottom coded first (swapped)", ...), each only when known.
_PICTURE = re.compile(r", [a-z][a-z0-9_]*\((?P<attributes>[^()\n]*(?:\(swapped\)[^()\n]*)?)\)")
_COLOUR = re.compile(r"^(?P<space>[\w-]+)/(?P<primaries>[\w-]+)/(?P<transfer>[\w-]+)$")
_RANGES = frozenset({"tv", "pc"})
_FIELD_ORDERS = ("progressive", "top first", "bottom first", "top coded first", "bottom coded first")
_DOLBY_VISION = re.compile(r"DOVI configuration record: version: [\d.]{1,10}, profile: (\d{1,3})")
# "48000 Hz, 5.1(side), fltp": the channel layout is the field after the rate ("stereo", "mono",
# "5.1(side)", "7.1", "6 channels"). Bounded, like every pattern here.
_CHANNELS = re.compile(r" Hz, ([^,\n]{1,40})")


def parse_ffmpeg_output(text: str) -> MediaInfo:
    """MediaInfo from the text `ffmpeg -i FILE` prints on stderr."""
    container_match = _INPUT.search(text)
    duration_match = _DURATION.search(text)
    duration = None
    if duration_match:
        hours, minutes, seconds = duration_match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    streams = []
    matches = list(_STREAM.finditer(text))
    for number, match in enumerate(matches):
        rest = match.group("rest")
        if "(attached pic)" in rest:
            continue  # cover art, not a video track
        # A stream's metadata block runs until the next stream line.
        block_end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
        block = text[match.end() : block_end]
        title = _TITLE.search(block)
        profile = _PROFILE.match(rest)
        tag = _TAG.search(rest)
        size = _SIZE.search(rest) if match.group("kind") == "Video" else None
        channels = _CHANNELS.search(rest) if match.group("kind") == "Audio" else None
        language = match.group("lang")
        picture = _picture(rest) if match.group("kind") == "Video" else {}
        dolby_vision = _DOLBY_VISION.search(block) if match.group("kind") == "Video" else None
        streams.append(
            Stream(
                index=int(match.group("index")),
                kind=match.group("kind").lower(),
                codec=match.group("codec"),
                profile=profile.group(1).strip() if profile else None,
                tag=tag.group(1) if tag else None,
                language=None if language in (None, "und") else language,
                title=title.group(1).strip() if title else None,
                width=int(size.group(1)) if size else None,
                height=int(size.group(2)) if size else None,
                dolby_vision=int(dolby_vision.group(1)) if dolby_vision else None,
                **picture,
                channels=channels.group(1).strip() if channels else None,
                default="(default)" in rest,
                forced="(forced)" in rest,
            )
        )
    return MediaInfo(
        container=container_match.group(1) if container_match else None,
        duration=duration,
        streams=tuple(streams),
    )


def _picture(rest: str) -> dict[str, str]:
    """color_transfer, color_primaries and field_order from a video stream line, those it names."""
    found: dict[str, str] = {}
    match = _PICTURE.search(rest)
    if match is None:
        return found
    for attribute in match.group("attributes").split(", "):
        attribute = attribute.strip()
        colour = _COLOUR.match(attribute)
        if attribute.startswith(_FIELD_ORDERS):
            found["field_order"] = attribute.removesuffix(" (swapped)")
        elif colour:
            found["color_primaries"] = colour.group("primaries")
            found["color_transfer"] = colour.group("transfer")
        elif attribute and attribute not in _RANGES and re.fullmatch(r"[\w-]+", attribute):
            # One name: space, primaries and transfer are all that (bt709, smpte170m, ...).
            found["color_primaries"] = found["color_transfer"] = attribute
    return found


def probe(path: str) -> MediaInfo:
    """Read a file's MediaInfo with ffmpeg. Raises ProbeError when ffmpeg is missing or fails."""
    binary = ffmpeg_binary()
    if binary is None:
        raise ProbeError("ffmpeg is not available")
    try:
        result = subprocess.run(
            [binary, "-hide_banner", "-nostdin", "-i", path],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProbeError(f"ffmpeg could not be run on {path}: {exc}") from exc
    text = result.stderr.decode("utf-8", errors="replace")
    info = parse_ffmpeg_output(text)
    if not info.streams:
        last_line = text.strip().splitlines()[-1] if text.strip() else "no output"
        raise ProbeError(f"ffmpeg found no audio or video in {path}: {last_line}")
    return info
