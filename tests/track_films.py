"""Films with several sound and subtitle tracks, and picture subtitles made without an encoder.

ffmpeg encodes picture subtitles only from picture subtitles ("Subtitle encoding currently only
possible from text to text or bitmap to bitmap"), and encodes no PGS at all: so VobSub tracks are
written here by hand (DVD subpicture units: a run-length coded bitmap and a control sequence),
drawn with Pillow, muxed with PyAV, and joined to a film by ffmpeg with `-c copy`.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from server.ffmpeg import ffmpeg_binary
from tests.films import FONT

# The VobSub palette: index 0 black, 1 white (the rest unused).
PALETTE = ["000000", "ffffff"] + ["808080"] * 14


def _nibbles_for_run(count: int, color: int) -> list[int]:
    code = (count << 2) | color
    if count < 4:
        return [code]
    if count < 16:
        return [code >> 4, code & 0xF]
    if count < 64:
        return [code >> 8, (code >> 4) & 0xF, code & 0xF]
    return [code >> 12, (code >> 8) & 0xF, (code >> 4) & 0xF, code & 0xF]


def _rle_lines(rows: list[list[int]]) -> bytes:
    nibbles: list[int] = []
    for row in rows:
        start = 0
        while start < len(row):
            end = start
            while end < len(row) and row[end] == row[start] and end - start < 255:
                end += 1
            nibbles += _nibbles_for_run(end - start, row[start])
            start = end
        if len(nibbles) % 2:
            nibbles.append(0)  # each line starts on a byte
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def subpicture(text: str, width: int, height: int, top: int, seconds: float) -> bytes:
    """One DVD subpicture unit: `text` in white (on nothing) in a band from `top`, shown `seconds`."""
    band = 40
    image = Image.new("1", (width, band), 0)
    ImageDraw.Draw(image).text((width // 2, band // 2), text, fill=1, anchor="mm",
                               font=ImageFont.truetype(FONT, 30))  # fmt: skip
    rows = [[image.getpixel((x, y)) for x in range(width)] for y in range(band)]
    top_field, bottom_field = _rle_lines(rows[0::2]), _rle_lines(rows[1::2])
    top_offset = 4
    bottom_offset = top_offset + len(top_field)
    first_control = bottom_offset + len(bottom_field)
    x1, x2, y1, y2 = 0, width - 1, top, top + band - 1
    second_control = first_control + 4 + 3 + 3 + 7 + 5 + 1 + 1
    show = bytes([0, 0, second_control >> 8, second_control & 0xFF,
                  0x03, 0x00, 0x10,  # colours: pixel value 1 -> palette 1 (white), 0 -> palette 0
                  0x04, 0x00, 0xF0,  # alpha: value 1 opaque, value 0 transparent
                  0x05, x1 >> 4, ((x1 & 0xF) << 4) | (x2 >> 8), x2 & 0xFF,
                  y1 >> 4, ((y1 & 0xF) << 4) | (y2 >> 8), y2 & 0xFF,
                  0x06, top_offset >> 8, top_offset & 0xFF, bottom_offset >> 8, bottom_offset & 0xFF,
                  0x01, 0xFF])  # fmt: skip
    delay = int(seconds * 90000) >> 10
    hide = bytes([delay >> 8, delay & 0xFF, second_control >> 8, second_control & 0xFF, 0x02, 0xFF])
    body = top_field + bottom_field + show + hide
    size = 4 + len(body)
    return bytes([size >> 8, size & 0xFF, first_control >> 8, first_control & 0xFF]) + body


def vobsub_track(path: Path, cues: list[tuple[float, float, str]], width: int, height: int) -> Path:
    """An MKV holding one VobSub track with `cues` (start, end, text), drawn near the bottom."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("dvdsub")
        stream.codec_context.extradata = (
            f"size: {width}x{height}\npalette: {', '.join(PALETTE)}\n".encode()
        )
        for start, end, text in cues:
            packet = av.Packet(subpicture(text, width, height, height // 2, end - start))
            packet.stream = stream
            packet.time_base = Fraction(1, 1000)
            packet.pts = packet.dts = int(start * 1000)
            packet.duration = int((end - start) * 1000)
            out.mux(packet)
    return path


# A sign at the top of the picture, as typesetters make them: yellow letters in a magenta box
# (BorderStyle 3), top centre (Alignment 8). A browser's WebVTT could show neither.
SIGN_ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, \
Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, \
MarginL, MarginR, MarginV, Encoding
Style: Sign,DejaVu Sans,24,&H0000FFFF,&H0000FFFF,&H00FF00FF,&H00FF00FF,1,0,0,0,100,100,0,0,3,6,0,8,10,10,40,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:59.00,Sign,,0,0,0,,SIGN AT THE TOP
"""
FORCED_SRT = "1\n00:00:00,000 --> 00:00:04,000\nForced words\n"
FULL_SRT = "1\n00:00:00,000 --> 00:00:04,000\nEvery word\n"


def make_tracks_film(path: Path, video: Path, seconds: float) -> Path:
    """`video` (a film without sound, see films.make_film) with English AC-3 5.1 at 440 Hz (the
    file's default), French AAC stereo at 880 Hz, an English ASS sign at the top and an English
    VobSub track ("PICTURE" from 0 s to the end, in the middle of the picture)."""
    work = path.parent
    (work / "sign.ass").write_text(SIGN_ASS)
    vobsub_track(work / "vobsub.mkv", [(0.0, seconds, "PICTURE")], 320, 180)
    subprocess.run(
        [ffmpeg_binary() or "ffmpeg", "-v", "error", "-y", "-i", str(video),
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
         "-f", "lavfi", "-i", f"sine=frequency=880:duration={seconds}:sample_rate=48000",
         "-i", str(work / "sign.ass"), "-i", str(work / "vobsub.mkv"),
         "-map", "0:v", "-map", "1", "-map", "2", "-map", "3", "-map", "4",
         "-c:v", "copy", "-c:s", "copy",
         "-filter:a:0", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-c:a:0", "ac3", "-b:a:0", "192k",
         "-c:a:1", "aac", "-ac:a:1", "2",
         "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre",
         "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=eng",
         "-disposition:a:0", "default", "-disposition:a:1", "0",
         "-disposition:s:0", "0", "-disposition:s:1", "0", str(path)],
        check=True,
    )  # fmt: skip
    return path


def make_forced_film(path: Path, video: Path) -> Path:
    """`video` with one sound track and two English SubRip tracks: all the words, and the forced ones."""
    work = path.parent
    (work / "forced.srt").write_text(FORCED_SRT)
    (work / "full.srt").write_text(FULL_SRT)
    subprocess.run(
        [ffmpeg_binary() or "ffmpeg", "-v", "error", "-y", "-i", str(video),
         "-f", "lavfi", "-i", "sine=frequency=440:duration=5:sample_rate=48000",
         "-i", str(work / "full.srt"), "-i", str(work / "forced.srt"),
         "-map", "0:v", "-map", "1", "-map", "2", "-map", "3", "-c:v", "copy", "-c:a", "aac", "-c:s", "srt",
         "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=eng",
         "-disposition:s:0", "0", "-disposition:s:1", "forced", str(path)],
        check=True,
    )  # fmt: skip
    return path
