"""The decision per file and per browser: play the file directly, remux it, or transcode it.

The browser's answers come from the page (it asked `canPlayType` / `MediaSource.isTypeSupported` for
the strings in `server.library.codecs`); this module only weighs them, so the rule is one plain
function that tests call with made-up answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.library.probe import MediaInfo


@dataclass(frozen=True)
class BrowserCaps:
    """What one browser said about one file."""

    plays_file: bool  # the file as it is (container + video + audio)
    plays_video: bool  # the file's video stream copied into HLS segments
    plays_hls: bool  # HLS at all: natively (Safari, Android, Chromium) or through hls.js


@dataclass(frozen=True)
class Plan:
    kind: str  # "direct", "remux" (video copied) or "transcode" (video re-encoded to H.264)
    reason: str  # for the log and the page, in a viewer's words
    audio: str | None = None  # "aac" in HLS; None for direct play or a file without sound

    @property
    def converted(self) -> bool:
        return self.kind != "direct"


def hls_audio(info: MediaInfo) -> str | None:
    """The sound in the segments: always stereo AAC, AAC included (see segments.ffmpeg_command)."""
    return "aac" if info.audio else None


def plan_playback(info: MediaInfo, browser: BrowserCaps) -> Plan:
    """How this browser should play this file."""
    if browser.plays_file:
        return Plan("direct", "The browser plays this file as it is.")
    if info.video is None:
        return Plan("direct", "Sound-only files are played as they are.")
    if not browser.plays_hls:
        return Plan("direct", "This browser plays no converted streams (HLS); trying the file as it is.")
    audio = hls_audio(info)
    if browser.plays_video and info.video.codec == "h264":
        return Plan("remux", "The video is copied into a stream this browser plays.", audio)
    return Plan(
        "transcode", f"This browser cannot play {info.video.codec} video: converting to H.264.", audio
    )
