"""Real files of every shape the probe meets, made with ffmpeg: for the probe's tests and bench.

Each is small (a second or two of 320x180 or less) so the whole corpus is made in seconds, yet each
carries what a real file of its kind carries: B-frames, HDR and HLG tags, interlacing, rotation,
anamorphic pixels, 5.1 and stereo sound with languages and dispositions, text, styled and picture
subtitles, sound-only containers, cover art, and broken files.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from server.ffmpeg import ffmpeg_binary
from tests.films import make_film
from tests.track_films import SIGN_ASS, vobsub_track

SRT = "1\n00:00:00,000 --> 00:00:01,000\nWords\n"
# A Dolby Vision configuration record (ETSI GS CCM 001): version 1.0, profile 8, level 4, RPU and
# base layer present, base layer compatible with HDR10 (id 1). 24 bytes, the rest reserved.
DOVI_PROFILE_8 = bytes([1, 0, (8 << 1) | (4 >> 5), ((4 & 0x1F) << 3) | 0b101, 1 << 4]) + bytes(19)
# Profile 8.4: an HLG base layer (compatibility id 4), as iPhones record.
DOVI_PROFILE_8_HLG = bytes([1, 0, (8 << 1) | (4 >> 5), ((4 & 0x1F) << 3) | 0b101, 4 << 4]) + bytes(19)
# Profile 5: no backward-compatible base layer (compatibility id 0), IPT colours.
DOVI_PROFILE_5 = bytes([1, 0, (5 << 1) | (6 >> 5), ((6 & 0x1F) << 3) | 0b101, 0]) + bytes(19)


def ffmpeg(*arguments: str) -> None:
    subprocess.run([ffmpeg_binary() or "ffmpeg", "-v", "error", "-y", *arguments], check=True)


def _picture(seconds: float = 1, size: str = "320x180", rate: int = 25) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _sound(seconds: float = 1, rate: int = 48000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate={rate}"]


def _x265(transfer: str | None = None) -> list[str]:
    """10-bit HEVC, BT.2020 with `transfer` when given. The tags go to x265 itself: ffmpeg 9 passes
    only the matrix of -color_* on to it."""
    tags = f":colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc" if transfer else ""
    return ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=0" + tags,
            "-pix_fmt", "yuv420p10le"]  # fmt: skip


def with_dolby_vision(source: Path, target: Path, record: bytes, entry: bytes = b"hvc1") -> Path:
    """An MP4 whose HEVC sample entry gets a dvvC box holding `record` (and is renamed `entry`):
    how a phone or a streaming service's file says Dolby Vision. ffmpeg cannot encode Dolby Vision,
    and x265 writes none of this, so the box is put in by hand. The moov must follow the mdat (ffmpeg
    without +faststart), so the sample offsets stay right when the moov grows."""
    data = bytearray(source.read_bytes())
    box = struct.pack(">I4s", 8 + len(record), b"dvvC") + record
    path_to_entry = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]

    def find(start: int, end: int, kind: bytes) -> int:
        while start < end:
            size, found = struct.unpack(">I4s", data[start : start + 8])
            if found == kind:
                return start
            start += size
        raise ValueError(f"no {kind!r} box")

    parents, start, end = [], 0, len(data)
    for kind in path_to_entry:
        at = find(start, end, kind)
        parents.append(at)
        size = struct.unpack(">I", data[at : at + 4])[0]
        start, end = at + 8 + (8 if kind == b"stsd" else 0), at + size
    entry_at = start  # the first sample entry in stsd (after version, flags and entry count)
    entry_size = struct.unpack(">I", data[entry_at : entry_at + 4])[0]
    if data[entry_at + 4 : entry_at + 8] not in (b"hvc1", b"hev1"):
        raise ValueError("not an HEVC sample entry")
    data[entry_at + 4 : entry_at + 8] = entry
    data[entry_at + entry_size : entry_at + entry_size] = box
    for at in [*parents, entry_at]:
        size = struct.unpack(">I", data[at : at + 4])[0]
        data[at : at + 4] = struct.pack(">I", size + len(box))
    target.write_bytes(bytes(data))
    return target


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every file of the corpus, by name. Broken ones included (see BROKEN)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}

    def add(name: str) -> Path:
        made[name] = folder / name
        return made[name]

    # H.264 with B-frames (x264's medium preset), AAC: the common film.
    make_film(add("h264-bframes.mp4"), 2, audio="aac")
    # HEVC 10-bit tagged HDR10, in Matroska; and HLG in MP4 tagged hvc1, as phones make them.
    ffmpeg(*_picture(), *_x265("smpte2084"), str(add("hdr10.mkv")))
    ffmpeg(
        *_picture(), *_sound(), *_x265("arib-std-b67"), "-tag:v", "hvc1", "-c:a", "aac", str(add("hlg.mp4"))
    )
    # Dolby Vision: profile 8.1 over an HDR10 base (PQ tags), profile 5 with no base (no HDR tags).
    ffmpeg(*_picture(), *_x265("smpte2084"), "-tag:v", "hvc1", str(folder / "hdr10-base.mp4"))
    with_dolby_vision(folder / "hdr10-base.mp4", add("dolby-vision-8.mp4"), DOVI_PROFILE_8)
    ffmpeg(*_picture(), *_x265(), "-tag:v", "hvc1", str(folder / "plain-hevc.mp4"))
    with_dolby_vision(folder / "plain-hevc.mp4", add("dolby-vision-5.mp4"), DOVI_PROFILE_5, b"dvh1")
    # Interlaced: an MPEG-2 TV recording in MPEG-TS (top field first), and AVCHD-like H.264 (bottom).
    make_film(add("tv-mpeg2.ts"), 2, codec="mpeg2video", interlaced="tff", audio="mp2")
    make_film(add("camcorder.mts"), 2, codec="h264", interlaced="bff", audio="ac3")
    # A phone's portrait video: landscape pixels and a display matrix turning them; BT.709 tags. The
    # matrix is put on by a copy (encoding from a rotated input would turn the pixels instead).
    ffmpeg(*_picture(size="320x180"), *_sound(), "-c:v", "libx264", "-preset", "ultrafast",
           "-x264-params", "colorprim=bt709:transfer=bt709:colormatrix=bt709", "-c:a", "aac",
           "-metadata:s:v:0", "title=Portrait", str(folder / "landscape.mov"))  # fmt: skip
    ffmpeg("-display_rotation", "90", "-i", str(folder / "landscape.mov"), "-c", "copy",
           str(add("portrait.mov")))  # fmt: skip
    # Anamorphic DVD-style picture: 720x576 stored, 16:9 shown (SAR 64:45); 8x6 pixels (too small for
    # the old scraper's size pattern); colour space alone tagged (primaries and transfer unknown).
    ffmpeg(*_picture(size="720x576"), *_sound(), "-vf", "setsar=64/45", "-c:v", "mpeg4", "-tag:v", "XVID",
           "-c:a", "libmp3lame", str(add("anamorphic.avi")))  # fmt: skip
    ffmpeg(*_picture(size="8x6"), "-c:v", "libx264", "-colorspace", "bt709", str(add("tiny.mkv")))
    # Sound and subtitle tracks: English AC-3 5.1 (default), French AAC stereo, commentary with a
    # title; ASS, SRT (forced), VobSub; titles with a line break and control characters, and
    # Matroska's undetermined language.
    (folder / "sign.ass").write_text(SIGN_ASS)
    (folder / "words.srt").write_text(SRT)
    vobsub_track(folder / "vobsub.mkv", [(0.0, 1.0, "PICTURE")], 320, 180)
    ffmpeg(*_picture(), *_sound(), *_sound(), *_sound(),
           "-i", str(folder / "sign.ass"), "-i", str(folder / "words.srt"), "-i", str(folder / "vobsub.mkv"),
           "-map", "0", "-map", "1", "-map", "2", "-map", "3", "-map", "4", "-map", "5", "-map", "6",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:s", "copy", "-c:s:1", "srt",
           "-filter:a:0", "pan=5.1(side)|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-c:a:0", "ac3",
           "-c:a:1", "aac", "-ac:a:1", "2", "-c:a:2", "libopus", "-ac:a:2", "1",
           "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre",
           "-metadata:s:a:2", "language=und", "-metadata:s:a:2", "title=Director's\ncommentary",
           "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=ger",
           "-metadata:s:s:2", "language=spa",
           "-metadata:s:s:2", "title=\tPic\x01ture\rtrack\x0bX ", "-metadata:s:s:1", "title=Signs & songs",
           "-disposition:a:0", "default", "-disposition:a:1", "0", "-disposition:a:2", "comment",
           "-disposition:s:0", "0", "-disposition:s:1", "default+forced", "-disposition:s:2", "0",
           str(add("tracks.mkv")))  # fmt: skip
    # H.264 and AAC in MPEG-TS: codec tags that are numbers, not letters.
    ffmpeg(*_picture(), *_sound(), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           "-metadata:s:a:0", "language=por", str(add("broadcast.ts")))  # fmt: skip
    # TTML subtitles in MP4: a codec PyAV's libavcodec has no decoder for (the narrow fallback).
    ffmpeg("-i", str(made["h264-bframes.mp4"]), "-i", str(folder / "words.srt"), "-map", "0", "-map", "1",
           "-c:v", "copy", "-c:a", "copy", "-c:s", "ttml", "-metadata:s:s:0", "language=swe",
           str(add("ttml.mp4")))  # fmt: skip
    # VP9 and Opus in WebM.
    ffmpeg(*_picture(), *_sound(), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus",
           str(add("clip.webm")))  # fmt: skip
    # Sound alone: ALAC in .m4a, FLAC, MP3 with cover art (an attached picture, not a video track).
    ffmpeg(*_sound(2, 44100), "-c:a", "alac", str(add("song.m4a")))
    ffmpeg(*_sound(2, 44100), "-c:a", "flac", "-metadata", "title=A song", str(add("song.flac")))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=64x64:duration=1", "-frames:v", "1",
           str(folder / "cover.png"))  # fmt: skip
    ffmpeg(*_sound(2, 44100), "-i", str(folder / "cover.png"), "-map", "0", "-map", "1", "-c:a",
           "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", "-id3v2_version", "3",
           str(add("song.mp3")))  # fmt: skip
    # Broken files: cut in the middle (the index, at the end, is gone), bytes overwritten near the
    # start, empty, text named .mp4.
    whole = (folder / "h264-bframes.mp4").read_bytes()
    add("truncated.mp4").write_bytes(whole[: len(whole) // 2])
    cut_ts = (folder / "broadcast.ts").read_bytes()
    add("truncated.ts").write_bytes(cut_ts[: len(cut_ts) // 3])
    add("corrupt.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)
    add("empty.mp4").write_bytes(b"")
    add("notes.mp4").write_text("These are not the films you are looking for.\n" * 20)
    return made


# Files no probe can read: each must raise ProbeError.
BROKEN = frozenset({"truncated.mp4", "corrupt.mkv", "empty.mp4", "notes.mp4"})
