"""Subtitles for the browser: decode any common encoding, turn SubRip (.srt) into WebVTT.

Subtitle files come from everywhere: UTF-8 with or without BOM, UTF-16 from Windows tools,
cp1252/latin-1 from old rips. Browsers only take UTF-8 WebVTT, so everything is converted on the fly.
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "00:00:01,000", "1:02:03,5", "00:01.000", "00:00:01" (hours, fraction optional; comma, dot or colon).
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.:](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
# Tags WebVTT has no meaning for: <font ...>, ASS overrides such as {\an8} or {\i1}.
_UNSUPPORTED_TAGS = re.compile(r"</?font[^>]*>|\{\\[^}]*\}", re.IGNORECASE)
# <B>, <I>, <U> from old rips: WebVTT's tags are lower case only.
_STYLE_TAGS = re.compile(r"<(/?)([BIU])>")


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
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    out = ["WEBVTT", ""]
    for line in lines:
        timing = _TIMING.match(line)
        if timing:
            g = timing.groups()
            _separate_cue(out)
            out.append(f"{_timestamp(*g[0:4])} --> {_timestamp(*g[4:8])}")
        else:
            text = _STYLE_TAGS.sub(
                lambda m: f"<{m.group(1)}{m.group(2).lower()}>", _UNSUPPORTED_TAGS.sub("", line)
            )
            out.append(text.replace("-->", "->") if text.strip() else "")
    return "\n".join(out).rstrip("\n") + "\n"


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
    text = decode(data)
    if suffix.lower() == ".vtt":
        return text.lstrip("\ufeff")
    return srt_to_vtt(text)
