"""The MIME type strings (RFC 6381 `codecs=`) a browser is asked about for a probed file.

The page passes these to `canPlayType` / `MediaSource.isTypeSupported`: only the browser knows what it
plays (Chromium plays Matroska but not AC-3, Safari plays HEVC tagged hvc1 but not hev1, ...). A codec
with no known string is named by ffmpeg's own codec name, which every browser answers "" for.
"""

from __future__ import annotations

import os

from server.library.probe import MediaInfo, Stream

# profile_idc and constraint flags as hex (ISO/IEC 14496-15 avc1.PPCCLL).
_H264_PROFILES = {
    "baseline": "4200",
    "constrained baseline": "42e0",
    "main": "4d40",
    "extended": "5800",
    "high": "6400",
    "high 10": "6e00",
    "high 4:2:2": "7a00",
    "high 4:4:4 predictive": "f400",
}
_AUDIO_CODECS = {
    "aac": "mp4a.40.2",
    "mp3": "mp3",
    "opus": "opus",
    "vorbis": "vorbis",
    "flac": "flac",
    "alac": "alac",
    "ac3": "ac-3",
    "eac3": "ec-3",
    "dts": "dtsc",
    "truehd": "mlpa",
}

# Containers of sound alone, by ffmpeg's demuxer name: asked as audio/..., which is what a browser
# answers for ("video/flac" is "" in Chromium, "audio/flac" "probably").
_SOUND_CONTAINERS = {"flac": "audio/flac", "wav": "audio/wav", "aac": "audio/aac"}


def _h264_level(height: int | None) -> str:
    """A level that fits the frame size (ffmpeg's summary does not print the level)."""
    if height is None or height <= 576:
        return "1e"  # 3.0
    if height <= 720:
        return "1f"  # 3.1
    if height <= 1080:
        return "28"  # 4.0
    return "33"  # 5.1


def video_codec(stream: Stream) -> str:
    """The codecs= entry for a video stream."""
    profile = (stream.profile or "").lower()
    if stream.codec == "h264":
        return f"avc1.{_H264_PROFILES.get(profile, '6400')}{_h264_level(stream.height)}"
    if stream.codec == "hevc":
        # hvc1 and hev1 are distinct answers in Safari: keep the file's own tag.
        tag = stream.tag if stream.tag in ("hvc1", "hev1") else "hev1"
        return f"{tag}.2.4.L153.B0" if "10" in profile else f"{tag}.1.6.L93.B0"
    if stream.codec == "vp9":
        return "vp09.02.40.10" if "2" in profile else "vp09.00.40.08"
    if stream.codec == "av1":
        return "av01.0.08M.08"
    if stream.codec == "vp8":
        return "vp8"
    if stream.codec == "mpeg4":
        return "mp4v.20.9"
    return stream.codec


def audio_codec(stream: Stream) -> str:
    """The codecs= entry for an audio stream."""
    if stream.codec == "aac" and stream.profile == "HE-AAC":
        return "mp4a.40.5"
    return _AUDIO_CODECS.get(stream.codec, stream.codec)


def container_type(info: MediaInfo, path: str) -> str:
    """The MIME type of the file's container, as a browser names it."""
    container = info.container or ""
    extension = os.path.splitext(path)[1].lower()
    if container.startswith("mov,mp4"):
        return "video/mp4" if info.video else "audio/mp4"
    if container == "matroska,webm":
        if info.video is None:
            return "audio/webm" if extension == ".webm" else "audio/x-matroska"
        return "video/webm" if extension == ".webm" else "video/x-matroska"
    if container == "avi":
        return "video/x-msvideo"
    if container == "mpegts":
        return "video/mp2t"
    if container == "ogg":
        return "video/ogg" if info.video else "audio/ogg"
    if container == "mp3":
        return "audio/mpeg"
    if container in _SOUND_CONTAINERS:
        return _SOUND_CONTAINERS[container]
    return f"video/{container.split(',')[0] or 'unknown'}"


def file_type(info: MediaInfo, path: str) -> str:
    """`container; codecs="video, audio"`: can the browser play this file as it is?"""
    if info.container in _SOUND_CONTAINERS:
        # These hold one codec only, and a codecs= parameter makes Chromium answer "" to them
        # ('audio/flac; codecs="flac"': "", 'audio/flac': "probably").
        return container_type(info, path)
    codecs = [video_codec(info.video)] if info.video else []
    codecs += [audio_codec(info.audio[0])] if info.audio else []
    return f'{container_type(info, path)}; codecs="{", ".join(codecs)}"'


def copied_video_type(info: MediaInfo) -> str | None:
    """The type of the file's video once copied into HLS, or None when it cannot be copied there.

    Only H.264 goes into the MPEG-TS segments as it is; other codecs are transcoded.
    """
    video = info.video
    if video is None or video.codec != "h264":
        return None
    return f'video/mp4; codecs="{video_codec(video)}"'
