"""Subtitles for the browser: decode any common encoding, turn SubRip (.srt) into WebVTT, cache it.

Subtitle files come from everywhere: UTF-8 with or without BOM, UTF-16 from Windows tools,
cp1252/latin-1 from old rips. Browsers only take UTF-8 WebVTT, so everything is converted, once per
version of the file (path, size, mtime), into the cache folder.

A subtitle file is untrusted input: it may be a 10 MB single line, or millions of empty ones. The
conversion looks at each character a bounded number of times (no regular expression here can
backtrack over a line), writes its output as it goes, and holds at most one chunk of lines at once.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from server.atomic import replacing

log = logging.getLogger(__name__)

# The largest subtitle file converted: a three-hour film's .srt is about 200 KB (400 KB in UTF-16);
# 10 MB leaves room for anything real while bounding what one file costs to convert (about 2 s).
MAX_SUBTITLE_BYTES = 10 * 1024 * 1024
# Lines are split from the text this many characters at a time, and output written every so many
# lines: what the conversion holds in memory stays a few MB whatever the file's shape.
_CHUNK_CHARACTERS = 256 * 1024
_LINES_PER_WRITE = 4096

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "00:00:01,000", "1:02:03,5", "00:01.000", "00:00:01" (hours, fraction optional; comma, dot or colon).
# Hours have at most 5 digits: a line with a 5,000-digit number is text, not a timing (and no int()).
_TIME = r"(?:(\d{1,5}):)?(\d{1,2}):(\d{1,2})(?:[,.:](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
# Tags WebVTT has no meaning for: <font ...> (up to the next ">"), ASS overrides such as {\an8} or
# {\i1} (up to the next "}"). Only their starts are found by regular expression; see _without_tags.
_FONT_TAG_START = re.compile(r"</?font", re.IGNORECASE)
_OVERRIDE_START = "{\\"
# <B>, <I>, <U> from old rips: WebVTT's tags are lower case only.
_STYLE_TAGS = re.compile(r"<(/?)([BIU])>")
# Two or more line ends with nothing but white space between them.
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*+\n)++")


def decode(data: bytes) -> str:
    """Text of a subtitle file in whichever common encoding it was written."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if len(data) >= 2 and data.count(b"\x00") > len(data) // 4:
        # UTF-16 without BOM: ASCII text has a zero in every other byte.
        zeros_first = data[0::2].count(0) > data[1::2].count(0)
        return data.decode("utf-16-be" if zeros_first else "utf-16-le", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _timestamp(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> str:
    millis = int((fraction or "0").ljust(3, "0")[:3])  # ",5" is half a second, not 5 ms
    return f"{int(hours or 0):02d}:{int(minutes):02d}:{int(seconds):02d}.{millis:03d}"


def srt_to_vtt(text: str) -> str:
    """WebVTT for a SubRip text: timings fixed up, unsupported tags dropped, cues kept in order."""
    out = io.StringIO()
    write_srt_as_vtt(text, out)
    return out.getvalue()


def write_srt_as_vtt(text: str, stream: TextIO) -> None:
    """Write the WebVTT for a SubRip text to `stream`, a few thousand lines at a time."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    # One blank line ends a cue; a run of them says nothing more (and a file of millions of them
    # would otherwise cost a pass of the loop below each).
    text = _BLANK_LINES.sub("\n\n", text)
    out = ["WEBVTT", ""]
    for line in _lines(text):
        timing = _TIMING.match(line) if "-->" in line else None
        if timing:
            g = timing.groups()
            _separate_cue(out)
            out.append(f"{_timestamp(*g[0:4])} --> {_timestamp(*g[4:8])}")
        else:
            if "<" in line or "{" in line:
                line = _STYLE_TAGS.sub(_lower_style_tag, _without_tags(line))
            if line and not line.isspace():
                out.append(line.replace("-->", "->"))
            elif out[-1] != "":
                out.append("")  # a line left empty by its tags
        if len(out) > _LINES_PER_WRITE:
            # The last two lines stay: _separate_cue may still put a blank line between them.
            stream.write("\n".join(out[:-2]) + "\n")
            del out[:-2]
    stream.write("\n".join(out).rstrip("\n") + "\n")


def _lower_style_tag(tag: re.Match) -> str:
    return f"<{tag.group(1)}{tag.group(2).lower()}>"


def _lines(text: str) -> Iterator[str]:
    """text.split("\n"), a chunk at a time: a file of ten million empty lines is never one list."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start + _CHUNK_CHARACTERS)
        end = len(text) if end == -1 else end
        yield from text[start:end].split("\n")
        start = end + 1


def _without_tags(line: str) -> str:
    """The line without <font ...>/</font> tags and {\\...} overrides, each ending at the first ">" or
    "}" after its start.

    A start with no end after it stays as text, and so does every later start of the same kind (none
    of them has an end after it either), so each character is looked at a bounded number of times:
    a regular expression trying every start again took 17 s on a 200 KB line of "<font".
    """
    font = _FONT_TAG_START.search(line)
    override = line.find(_OVERRIDE_START)
    kept = []
    copied = 0
    while font is not None or override != -1:
        if font is not None and (override == -1 or font.start() < override):
            start, end = font.start(), line.find(">", font.end())
            if end == -1:
                font = None
                continue
        else:
            start, end = override, line.find("}", override + len(_OVERRIDE_START))
            if end == -1:
                override = -1
                continue
        kept.append(line[copied:start])
        copied = end + 1
        # Search again only for a start the removed tag swallowed: one found further on still holds.
        if font is not None and font.start() < copied:
            font = _FONT_TAG_START.search(line, copied)
        if override != -1 and override < copied:
            override = line.find(_OVERRIDE_START, copied)
    if not copied:
        return line
    kept.append(line[copied:])
    return "".join(kept)


def _separate_cue(out: list[str]) -> None:
    """A cue starts after a blank line; SubRip files that forget it still get one (before the cue number)."""
    if out[-1] == "":
        return
    if out[-1].strip().isdigit():
        if out[-2] != "":
            out.insert(len(out) - 1, "")
        return
    out.append("")


def to_vtt(data: bytes, suffix: str) -> str:
    """WebVTT text for a .srt or .vtt file's bytes."""
    out = io.StringIO()
    write_vtt(data, suffix, out)
    return out.getvalue()


def write_vtt(data: bytes, suffix: str, stream: TextIO) -> None:
    """Write the WebVTT for a .srt or .vtt file's bytes to `stream`."""
    text = decode(data)
    if suffix.lower() == ".vtt":
        stream.write(text.lstrip("\ufeff"))
    else:
        write_srt_as_vtt(text, stream)


class SubtitleTooLarge(Exception):
    """The file is larger than MAX_SUBTITLE_BYTES: no subtitle file is, so it is not converted."""


# One lock per subtitle file being converted: a second viewer of the same file waits for that
# conversion instead of doing it again; viewers of other files never wait.
_converting: dict[str, threading.Lock] = {}
_converting_guard = threading.Lock()


def cached_vtt(path: str, cache_dir: Path) -> Path | str:
    """The WebVTT for the subtitle file at `path`, converted once per version (path, size, mtime) into
    `cache_dir`. When the cache cannot be written (a full disk), the text itself: the viewer still gets
    subtitles. Raises SubtitleTooLarge, or OSError when the file cannot be read."""
    stat = os.stat(path)
    if stat.st_size > MAX_SUBTITLE_BYTES:
        raise SubtitleTooLarge(path)
    key = hashlib.sha256(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:40]
    target = cache_dir / f"{key}.vtt"
    with _converting_guard:
        lock = _converting.setdefault(key, threading.Lock())
    try:
        with lock:
            if target.exists():
                return target
            with open(path, "rb") as file:
                data = file.read(MAX_SUBTITLE_BYTES + 1)
            if len(data) > MAX_SUBTITLE_BYTES:
                raise SubtitleTooLarge(path)  # it grew since the stat
            try:
                with replacing(target) as partial, open(partial, "w", encoding="utf-8", newline="\n") as out:
                    write_vtt(data, os.path.splitext(path)[1], out)
            except OSError as exc:
                log.warning("Subtitles for %s served without caching: %s", path, exc)
                return to_vtt(data, os.path.splitext(path)[1])
            return target
    finally:
        with _converting_guard:
            _converting.pop(key, None)
