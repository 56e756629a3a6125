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
_TIMING = re.compile(
    r"^\s*(\d+:)?(\d{1,2}):(\d{1,2})[,.:](\d{1,3})\s*-->\s*(\d+:)?(\d{1,2}):(\d{1,2})[,.:](\d{1,3})(.*)$"
)
# Tags WebVTT has no meaning for: <font ...>, ASS overrides such as {\an8} or {\i1}.
_UNSUPPORTED_TAGS = re.compile(r"</?font[^>]*>|\{\\[^}]*\}", re.IGNORECASE)


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


def _timestamp(hours: str | None, minutes: str, seconds: str, fraction: str) -> str:
    millis = int(fraction.ljust(3, "0")[:3])
    return f"{int(hours[:-1]) if hours else 0:02d}:{int(minutes):02d}:{int(seconds):02d}.{millis:03d}"


def srt_to_vtt(text: str) -> str:
    """WebVTT for a SubRip text: timings fixed up, unsupported tags dropped, cues kept in order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    out = ["WEBVTT", ""]
    for line in lines:
        timing = _TIMING.match(line)
        if timing:
            g = timing.groups()
            start = _timestamp(g[0], g[1], g[2], g[3])
            end = _timestamp(g[4], g[5], g[6], g[7])
            out.append(f"{start} --> {end}")
        else:
            out.append(_UNSUPPORTED_TAGS.sub("", line).replace("-->", "->"))
    return "\n".join(out).rstrip("\n") + "\n"


def to_vtt(data: bytes, suffix: str) -> str:
    """WebVTT text for a .srt or .vtt file's bytes."""
    text = decode(data)
    if suffix.lower() == ".vtt":
        return text.lstrip("\ufeff")
    return srt_to_vtt(text)
