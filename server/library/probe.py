"""What is inside a media file (container, codecs, duration, streams), read with PyAV.

The file is opened in this process with libavformat (PyAV, already used for timelines and cutting):
about 1 ms a file where running `ffmpeg -i` and reading its text cost about 32 ms, most of it
starting the process. Values keep the spellings `ffmpeg -i` printed, which earlier versions stored
in the database and which the rest of Couchcast compares against ("h264", "Main 10", "smpte2084",
"top first", "5.1(side)"): where PyAV gives numbers or other names, they are mapped here, each
mapping said where it is made.

Two things PyAV 18 does not expose are read another way, narrowly:
- a stream's Dolby Vision configuration record (stream side data): see `_dolby_vision`;
- the codec name and tag of a stream no decoder in PyAV's own libavcodec knows (DVB teletext,
  ARIB captions, TTML and Blu-ray text subtitles): `ffmpeg -i` is run for those files only
  (`_codec_names`).
"""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
from dataclasses import asdict, dataclass, field, fields

import av
import av.error

from server.ffmpeg import ffmpeg_binary

# The longest a probe may wait on the file (a network share that stopped answering): libavformat's
# reads are interrupted after this many seconds, and so is the `ffmpeg -i` fallback.
PROBE_TIMEOUT = 30
# How much of the file libavformat may read to find the streams, and how much of the film's time:
# its defaults (5 MB, 5 s), said here because they are what keeps a huge bogus file from being read
# to its end.
PROBE_SIZE = 5_000_000
ANALYZE_MICROSECONDS = 5_000_000
# MPEG-TS: read every program's table, as `ffmpeg -i` does (it sets this for every input); without
# it libavformat stops at the first program and a recording's other streams could go unseen.
_FORMAT_OPTIONS = {
    "probesize": str(PROBE_SIZE),
    "analyzeduration": str(ANALYZE_MICROSECONDS),
    "scan_all_pmts": "1",
}

# libavutil's names for its colour enums (pixfmt.h; av_color_primaries_name and
# av_color_transfer_name), which PyAV gives as bare numbers. The numbers are part of FFmpeg's ABI
# and are those of ITU-T H.273. A number FFmpeg has no name for prints as "unknown", as it does.
_PRIMARIES = {
    0: "reserved", 1: "bt709", 2: "unknown", 3: "reserved", 4: "bt470m", 5: "bt470bg",
    6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431",
    12: "smpte432", 22: "ebu3213",
}  # fmt: skip
_TRANSFERS = {
    0: "reserved", 1: "bt709", 2: "unknown", 3: "reserved", 4: "bt470m", 5: "bt470bg",
    6: "smpte170m", 7: "smpte240m", 8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4",
    12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
    17: "smpte428", 18: "arib-std-b67",
}  # fmt: skip
_UNSPECIFIED = 2  # AVCOL_PRI_UNSPECIFIED, AVCOL_TRC_UNSPECIFIED, AVCOL_SPC_UNSPECIFIED
# AVFieldOrder (PyAV gives the number) as `ffmpeg -i` words it. TB and BT are printed with
# " (swapped)" after them, which earlier versions left out of what they stored.
_FIELD_ORDERS = {
    1: "progressive",
    2: "top first",
    3: "bottom first",
    4: "top coded first",
    5: "bottom coded first",
}
# The codecs Dolby Vision is carried in: HEVC (profiles 4, 5, 7, 8), H.264 (9), AV1 (10).
_DOLBY_VISION_CODECS = frozenset({"hevc", "h264", "av1"})
# In Matroska's track header, the record follows its type: BlockAddIDType (0x41E7, 4 bytes:
# dvcC, dvvC or dvwC), then BlockAddIDExtraData (0x41ED) and its size.
_DOLBY_VISION_RECORD = re.compile(rb"\x41\xe7\x84(?:dvcC|dvvC|dvwC)\x41\xed")
# A stream line of `ffmpeg -i`, for the fallback only: index, codec name and codec tag. No pattern
# runs past the end of a line, so reading costs time linear in the text (a file's metadata is in it).
_FFMPEG_STREAM = re.compile(
    r"^[^\S\n]*Stream #0:(?P<index>\d{1,6})(?:\[0x[0-9a-fA-F]+\])?(?:\([^)\n]*\))?: "
    r"(?:Video|Audio|Subtitle): (?P<codec>[\w-]+)(?P<rest>.*)$",
    re.MULTILINE,
)
_FFMPEG_TAG = re.compile(r"\((\w{4}) / 0x[0-9A-Fa-f]+\)")
_KINDS = frozenset({"video", "audio", "subtitle"})
# What av_log prints as "?": control characters other than backspace, tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x07\x0e-\x1f]")


class ProbeError(Exception):
    """The file could not be read as media; the message says why."""


@dataclass(frozen=True)
class Stream:
    index: int
    kind: str  # "video", "audio", "subtitle"
    codec: str  # ffmpeg's codec name: h264, hevc, aac, ac3, subrip, ass, ...
    profile: str | None = None  # "High", "Main 10", "LC"
    tag: str | None = None  # codec tag: avc1, hev1, hvc1, mp4a
    language: str | None = None
    title: str | None = None
    width: int | None = None
    height: int | None = None
    # ffmpeg's names, None when the file does not say: "smpte2084" (HDR10), "arib-std-b67" (HLG), "bt709"
    color_transfer: str | None = None
    color_primaries: str | None = None  # "bt2020", "bt709", ...
    field_order: str | None = None  # "progressive", "top first", "bottom first", "top coded first", ...
    dolby_vision: int | None = None  # the Dolby Vision profile (5, 7, 8) when the stream carries one
    # Sound: the channel layout as ffmpeg names it ("stereo", "5.1(side)"). Dispositions: the track
    # the file marks to be chosen first (default), and subtitles meant to be shown always (forced:
    # the foreign-language lines of a film). Rows probed by older versions lack them: None/False.
    channels: str | None = None
    default: bool = False
    forced: bool = False


@dataclass(frozen=True)
class MediaInfo:
    container: str | None  # ffmpeg's demuxer names: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"
    duration: float | None  # seconds
    streams: tuple[Stream, ...] = field(default=())

    @property
    def video(self) -> Stream | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> tuple[Stream, ...]:
        return tuple(s for s in self.streams if s.kind == "audio")

    @property
    def subtitles(self) -> tuple[Stream, ...]:
        return tuple(s for s in self.streams if s.kind == "subtitle")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> MediaInfo:
        known = {f.name for f in fields(Stream)}
        # Only the fields this version knows: a row written by a newer version still reads.
        streams = tuple(Stream(**{k: v for k, v in s.items() if k in known}) for s in data.get("streams", ()))
        return cls(data.get("container"), data.get("duration"), streams)


def probe(path: str) -> MediaInfo:
    """Read a file's MediaInfo. Raises ProbeError when it is not a readable media file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ProbeError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    # Opening a FIFO blocks until someone writes to it, inside open(2), where no timeout reaches; a
    # device could be read forever. Only regular files are media here.
    if not stat.S_ISREG(mode):
        raise ProbeError(f"{path} is not a regular file")
    try:
        with av.open(
            path,
            container_options=_FORMAT_OPTIONS,
            timeout=PROBE_TIMEOUT,
            metadata_errors="replace",
        ) as container:
            info = _media_info(container, path)
    except av.error.ExitError as exc:  # the timeout's interruption
        raise ProbeError(f"reading {path} took longer than {PROBE_TIMEOUT} s") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise ProbeError(f"found no audio or video in {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProbeError(f"found no audio or video in {path}: {exc}") from exc
    if not info.streams:
        raise ProbeError(f"found no audio or video in {path}: no audio, video or subtitle stream")
    return info


def _media_info(container: av.container.InputContainer, path: str) -> MediaInfo:
    streams = []
    unnamed: list[int] = []
    for stream in container.streams:
        if stream.type not in _KINDS or stream.disposition & av.stream.Disposition.attached_pic:
            continue  # data, attachments (fonts), and cover art: not tracks
        if stream.codec_context is None:
            unnamed.append(len(streams))
        streams.append(_stream(stream))
    if unnamed:
        names = _codec_names(path)
        for position in unnamed:
            codec, tag = names.get(streams[position].index, ("none", None))
            streams[position] = Stream(**{**asdict(streams[position]), "codec": codec, "tag": tag})
    return MediaInfo(
        container=container.format.name,
        duration=_duration(container.duration),
        streams=tuple(streams),
    )


def _duration(microseconds: int | None) -> float | None:
    """The container's duration as `ffmpeg -i` printed it (and earlier versions stored it): rounded
    to the nearest hundredth of a second, and summed the way its "HH:MM:SS.cc" was read back."""
    if microseconds is None or microseconds < 0:
        return None
    rounded = microseconds + 5000
    seconds, micro = divmod(rounded, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return hours * 3600 + minutes * 60 + float(f"{seconds:02d}.{micro * 100 // 1_000_000:02d}")


def _stream(stream: av.stream.Stream) -> Stream:
    context = stream.codec_context
    disposition = stream.disposition
    values: dict = {
        "index": stream.index,
        "kind": stream.type,
        # The codec's own name (avcodec_get_name), not the decoder's: "mp3" rather than "mp3float",
        # "av1" rather than "libdav1d", "hdmv_pgs_subtitle" rather than "pgssub".
        "codec": context.codec.canonical_name if context is not None else "none",
        "language": _language(stream.metadata),
        "title": _title(stream.metadata.get("title")),
        "default": bool(disposition & av.stream.Disposition.default),
        "forced": bool(disposition & av.stream.Disposition.forced),
    }
    if context is None:
        return Stream(**values)
    values["profile"] = context.profile
    values["tag"] = _tag(context)
    if stream.type == "video":
        values.update(_picture(context))
        if values["codec"] in _DOLBY_VISION_CODECS:
            values["dolby_vision"] = _dolby_vision(stream)
    elif stream.type == "audio" and context.sample_rate:
        # `ffmpeg -i` named the layout after the rate ("48000 Hz, 5.1(side)"); without a rate there
        # was no layout in its line, and earlier versions stored none.
        values["channels"] = context.layout.name
    return Stream(**values)


def _language(metadata: dict[str, str]) -> str | None:
    """The stream's language code; "und" (undetermined) is no language. libavformat looks the key
    up without regard to case, as `ffmpeg -i` did."""
    language = next((value for key, value in metadata.items() if key.lower() == "language"), None)
    return None if language in (None, "und") else language


def _title(value: str | None) -> str | None:
    """The title's first line, as `ffmpeg -i` printed it and earlier versions stored it: a carriage
    return printed as a space, backspace and form/vertical feeds dropped, runs between them cut at 255
    characters, other control characters printed as "?" (av_log's own sanitising), surrounding
    blanks stripped."""
    if value is None:
        return None
    line = _CONTROL.sub("?", value.split("\n", 1)[0])
    pieces = re.split(r"([\b\v\f\r])", line)
    printed = "".join(
        " " if piece == "\r" else "" if piece in ("\b", "\v", "\f") else piece[:255] for piece in pieces
    )
    return printed.strip() or None


def _tag(context: av.codec.context.CodecContext) -> str | None:
    """The codec tag (avc1, hvc1, mp4a, XVID) when it is four letters, digits or underscores, as
    earlier versions read it from `ffmpeg -i` ("[27][0][0][0]" for MPEG-TS's numbers was none)."""
    try:
        tag = context.codec_tag  # PyAV decodes the four bytes as ASCII: a byte above 127 raises
    except UnicodeDecodeError:
        return None
    return tag if re.fullmatch(r"[A-Za-z0-9_]{4}", tag) else None


def _picture(context: av.video.codeccontext.VideoCodecContext) -> dict:
    """Size, colours and field order of a video stream as `ffmpeg -i` showed them."""
    values: dict = {}
    # `ffmpeg -i` showed the size when it was known (a width); earlier versions read it with at least
    # 2 and at most 5 digits each way, so an 8x6 picture was stored without one.
    if context.width and 10 <= context.width <= 99999 and 10 <= context.height <= 99999:
        values["width"], values["height"] = context.width, context.height
    # The colours were printed when any of matrix, primaries or transfer was known, an unknown one
    # among them as "unknown": a file tagging only its matrix stored primaries and transfer
    # "unknown".
    primaries, transfer = context.color_primaries, context.color_trc
    if (context.colorspace, primaries, transfer) != (_UNSPECIFIED, _UNSPECIFIED, _UNSPECIFIED):
        values["color_primaries"] = _PRIMARIES.get(primaries, "unknown")
        values["color_transfer"] = _TRANSFERS.get(transfer, "unknown")
    if context.field_order in _FIELD_ORDERS:
        values["field_order"] = _FIELD_ORDERS[context.field_order]
    return values


def _dolby_vision(stream: av.video.stream.VideoStream) -> int | None:
    """The Dolby Vision profile from the stream's configuration record, None without one.

    libavformat reads the record (an MP4's dvcC/dvvC box, a Matroska BlockAdditionMapping, an MPEG-TS
    descriptor) into the stream's side data, which PyAV 18 gives no way to read. Its Matroska muxer
    writes that side data back into a track header, in memory: the record is read from there, in
    about 0.1 ms, without starting ffmpeg. Byte 2 of the record holds the profile in its top 7 bits.
    """
    header = io.BytesIO()
    try:
        with av.open(header, "w", format="matroska") as muxer:
            muxer.add_stream_from_template(stream)
            muxer.start_encoding()
            data = header.getvalue()
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    found = _DOLBY_VISION_RECORD.search(data)
    if found is None:
        return None
    at = found.end()
    length = _vint_length(data[at]) if at < len(data) else 0
    record = data[at + length : at + length + 3]
    return record[2] >> 1 if length and len(record) == 3 else None


def _vint_length(first: int) -> int:
    """How many bytes an EBML size takes, from its first byte (the position of its first 1 bit)."""
    for length in range(1, 9):
        if first & (0x80 >> (length - 1)):
            return length
    return 0


def _codec_names(path: str) -> dict[int, tuple[str, str | None]]:
    """(codec name, codec tag) by stream index from `ffmpeg -i`, for streams PyAV's libavcodec has no
    decoder for, and so no codec context to name them. Empty when ffmpeg is missing or fails: such a
    stream is then "none", as `ffmpeg -i` names a codec it does not know."""
    binary = ffmpeg_binary()
    if binary is None:
        return {}
    try:
        result = subprocess.run(
            [binary, "-hide_banner", "-nostdin", "-i", path],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return stream_names(result.stderr.decode("utf-8", errors="replace"))


def stream_names(text: str) -> dict[int, tuple[str, str | None]]:
    """(codec name, codec tag) by stream index from the text `ffmpeg -i` prints. The text holds the
    file's metadata, written by whoever made the file: reading it costs time linear in its length."""
    names = {}
    for match in _FFMPEG_STREAM.finditer(text):
        tag = _FFMPEG_TAG.search(match.group("rest"))
        names[int(match.group("index"))] = (match.group("codec"), tag.group(1) if tag else None)
    return names
