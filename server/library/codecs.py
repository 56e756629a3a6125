"""MIME type strings with codecs (RFC 6381) for a probed file, as `canPlayType()` takes them.

ffmpeg's summary names codecs and profiles but not always levels, so the strings use a common level:
good enough to ask a browser "could you play H.264 High / HEVC / AC-3 at all?", which is the question.
"""

from __future__ import annotations

from server.library.probe import MediaInfo, Stream

_H264_PROFILES = {"baseline": "42E0", "constrained baseline": "42E0", "main": "4D40", "high": "6400"}
_AUDIO = {
    "aac": "mp4a.40.2",
    "mp3": "mp4a.6B",
    "ac3": "ac-3",
    "eac3": "ec-3",
    "opus": "opus",
    "vorbis": "vorbis",
    "flac": "flac",
    "alac": "alac",
    "dts": "dtsc",
    "truehd": "mlpa",
}
_WEBM_AUDIO = {"opus": "opus", "vorbis": "vorbis"}


def _video_codec(stream: Stream) -> str | None:
    codec = stream.codec
    if codec == "h264":
        profile = _H264_PROFILES.get((stream.profile or "").lower(), "6400")
        return f"avc1.{profile}28"
    if codec == "hevc":
        return "hvc1.2.4.L120.B0" if "10" in (stream.profile or "") else "hvc1.1.6.L120.B0"
    if codec == "vp9":
        return "vp09.00.40.08"
    if codec == "vp8":
        return "vp8"
    if codec == "av1":
        return "av01.0.08M.08"
    return None


def mime_type(info: MediaInfo, content_type: str) -> str | None:
    """`video/mp4; codecs="avc1.640028, mp4a.40.2"` for a file, or None when a codec has no such name."""
    names = []
    if info.video is not None:
        video = _video_codec(info.video)
        if video is None:
            return None
        names.append(video)
    if info.audio:
        audio_table = _WEBM_AUDIO if content_type == "video/webm" else _AUDIO
        audio = audio_table.get(info.audio[0].codec)
        if audio is None:
            return None
        names.append(audio)
    if not names:
        return None
    return f'{content_type}; codecs="{", ".join(names)}"'
