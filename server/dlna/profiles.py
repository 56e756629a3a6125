"""What a TV is told about a file before it asks for it: MIME type, DLNA profile, and how it may seek.

A DLNA renderer decides from the `res` element's protocolInfo whether it can play an item at all,
and many refuse an item whose profile (DLNA.ORG_PN) they do not know or that does not fit the file.
So a profile is named only where the file surely fits it (the container, the codecs and the picture
size say so); any other file gets no profile, which renderers read as "try it".
"""

from __future__ import annotations

import os

from server.library.media_types import content_type
from server.library.probe import MediaInfo

# DLNA.ORG_OP=01: byte ranges are served (Range), time seeking is not.
OPERATIONS = "DLNA.ORG_OP=01"
DLNA_CI = "DLNA.ORG_CI=0"  # the file as it is, not converted
# Streaming transfer mode, background transfer mode, connection stalling, DLNA 1.5 (bits 24, 22, 21,
# 20): what minidlna and most servers say for files sent as they are.
STREAMING_FLAGS = "DLNA.ORG_FLAGS=01700000000000000000000000000000"
# The thumbnail (server.library.thumbnails) is at most 480x270: JPEG_SM's limit (640x480), not
# JPEG_TN's (160x160).
THUMBNAIL_PROFILE = "JPEG_SM"

# H.264 profile -> DLNA profile for an SD, a 720p and a 1080p picture (AAC sound, MP4).
_AVC_MP4 = {
    "baseline": ("AVC_MP4_BL_L3L_SD_AAC", "AVC_MP4_BL_L31_HD_AAC", "AVC_MP4_BL_L32_HD_AAC"),
    "constrained baseline": ("AVC_MP4_BL_L3L_SD_AAC", "AVC_MP4_BL_L31_HD_AAC", "AVC_MP4_BL_L32_HD_AAC"),
    "main": ("AVC_MP4_MP_SD_AAC_MULT5", "AVC_MP4_MP_HD_720p_AAC", "AVC_MP4_MP_HD_1080i_AAC"),
    "high": ("AVC_MP4_HP_HD_AAC", "AVC_MP4_HP_HD_AAC", "AVC_MP4_HP_HD_AAC"),
}
_SD = (720, 576)  # the largest "SD" picture in DLNA's AVC and MPEG-2 profiles
_HD = (1920, 1080)


def _fits(width: int | None, height: int | None, limit: tuple[int, int]) -> bool:
    return width is not None and height is not None and width <= limit[0] and height <= limit[1]


def dlna_profile(info: MediaInfo | None, name: str) -> str | None:
    """The DLNA.ORG_PN the file surely fits, or None (Matroska, WebM, AVI, HEVC, ... have none)."""
    if info is None:
        return None
    container = info.container or ""
    extension = os.path.splitext(name)[1].lower()
    video = info.video
    audio = info.audio[0] if info.audio else None
    if video is None:
        if audio is None:
            return None
        if audio.codec == "mp3" and container == "mp3":
            return "MP3"
        if audio.codec == "aac" and container.startswith("mov,mp4") and audio.profile in (None, "LC"):
            return "AAC_ISO_320"
        return None
    width, height = video.width, video.height
    if video.codec == "h264" and container.startswith("mov,mp4") and extension in (".mp4", ".m4v"):
        if audio is None or audio.codec != "aac":
            return None
        # The names minidlna gives the same files (checked side by side in tests/test_dlna.py).
        profile = (video.profile or "").lower()
        if not _fits(width, height, _HD):
            return None
        size = 0 if _fits(width, height, _SD) else 1 if _fits(width, height, (1280, 720)) else 2
        return _AVC_MP4.get(profile, (None, None, None))[size]
    if video.codec == "h264" and container == "mpegts" and audio is not None and audio.codec == "aac":
        if not _fits(width, height, _HD):
            return None
        size = "SD" if _fits(width, height, _SD) else "HD"
        return f"AVC_TS_MP_{size}_AAC_MULT5_ISO"  # ISO: plain 188-byte packets, no time stamps
    if video.codec == "mpeg2video" and container == "mpeg" and _fits(width, height, _SD):
        return "MPEG_PS_PAL" if height and height > 480 else "MPEG_PS_NTSC"
    return None


def protocol_info(info: MediaInfo | None, name: str) -> str:
    """The `res` protocolInfo: `http-get:*:<MIME>:<DLNA fields>`."""
    fields = [OPERATIONS, DLNA_CI, STREAMING_FLAGS]
    profile = dlna_profile(info, name)
    if profile:
        fields.insert(0, f"DLNA.ORG_PN={profile}")
    return f"http-get:*:{content_type(name)}:{';'.join(fields)}"


def content_features(info: MediaInfo | None, name: str) -> str:
    """The `contentFeatures.dlna.org` header of a media answer: protocolInfo's fourth field."""
    return protocol_info(info, name).split(":", 3)[3]


def source_protocols() -> str:
    """ConnectionManager's SourceProtocolInfo: every MIME type served, with the profiles named above."""
    from server.library.media_types import AUDIO_TYPES, VIDEO_TYPES

    entries = [
        f"http-get:*:{mime}:*" for mime in dict.fromkeys([*VIDEO_TYPES.values(), *AUDIO_TYPES.values()])
    ]
    profiles = {
        "video/mp4": sorted({name for names in _AVC_MP4.values() for name in names}),
        "video/mp2t": ["AVC_TS_MP_SD_AAC_MULT5_ISO", "AVC_TS_MP_HD_AAC_MULT5_ISO"],
        "video/mpeg": ["MPEG_PS_PAL", "MPEG_PS_NTSC"],
        "audio/mpeg": ["MP3"],
        "audio/mp4": ["AAC_ISO_320"],
    }
    for mime, names in profiles.items():
        entries += [f"http-get:*:{mime}:DLNA.ORG_PN={name}" for name in names]
    return ",".join(entries)
