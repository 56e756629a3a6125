"""Which files are media, and their Content-Type: one table, not the platform's mimetypes database."""

from __future__ import annotations

import os

VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mts": "video/mp2t",  # AVCHD camcorders
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".3gp": "video/3gpp",
    ".ogv": "video/ogg",
}
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
}
SUBTITLE_TYPES = {".srt": "text/vtt", ".vtt": "text/vtt"}


def _suffix(name: str) -> str:
    # os.path, not pathlib: this runs several times for every media request.
    return os.path.splitext(name)[1].lower()


def media_kind(name: str) -> str | None:
    """'video', 'audio' or None for anything else."""
    suffix = _suffix(name)
    if suffix in VIDEO_TYPES:
        return "video"
    if suffix in AUDIO_TYPES:
        return "audio"
    return None


def content_type(name: str) -> str:
    suffix = _suffix(name)
    return VIDEO_TYPES.get(suffix) or AUDIO_TYPES.get(suffix) or "application/octet-stream"


def is_subtitle(name: str) -> bool:
    return _suffix(name) in SUBTITLE_TYPES
