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

    # The file as it is (container + video + audio), in <video src>: canPlayType's answer only.
    # MediaSource.isTypeSupported answers for what a script feeds it, not for what <video src>
    # opens: Chromium says yes to video/mp2t there and cannot open a .ts file.
    plays_file: bool
    plays_video: bool  # the file's video stream copied into HLS segments
    plays_hls: bool  # HLS at all: natively (Safari, Android, Chromium) or through hls.js
    family: str = ""  # browser_family() of its User-Agent: for answers known to be wrong


def browser_family(user_agent: str) -> str:
    """ "firefox", "safari", "chromium" or "" from a User-Agent header.

    Firefox on iOS ("FxiOS") and Chrome on iOS ("CriOS") are WebKit, as every iOS browser is: safari.
    """
    if "iPhone" in user_agent or "iPad" in user_agent or "FxiOS" in user_agent or "CriOS" in user_agent:
        return "safari"
    if "Firefox/" in user_agent:
        return "firefox"
    if "Chrome/" in user_agent or "Chromium/" in user_agent:
        return "chromium"
    if "Safari/" in user_agent:
        return "safari"
    return ""


def direct_play_misbehaves(info: MediaInfo, family: str) -> str | None:
    """Why this browser, though it says it plays the file, should not get it as it is; else None.

    Firefox answers "probably" for HEVC in Matroska and plays it, but after a seek into an open-GOP
    stream (x265's default) its picture freezes; closed GOPs and HEVC in MP4 seek fine there.
    Whether a GOP is open is not in the probe, so every HEVC-in-Matroska file is converted for it.
    """
    video = info.video
    if (
        family == "firefox"
        and video is not None
        and video.codec == "hevc"
        and info.container == "matroska,webm"
    ):
        return "Firefox freezes after a seek in HEVC in Matroska: converting to a stream that seeks."
    return None


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
    """How this browser should play this file.

    Sound-only files the browser cannot decode (ALAC in Chromium, WMA, AC-3) become AAC in HLS, cut
    by the same engine as films: seeking works at once and Safari plays it natively. The
    alternative, FLAC made from the whole file, keeps lossless sound but must be converted to the
    end before a seek past the part made so far, and Safari's HLS would not take it in MPEG-TS.
    """
    misbehaves = direct_play_misbehaves(info, browser.family)
    if browser.plays_file and misbehaves is None:
        return Plan("direct", "The browser plays this file as it is.")
    if not browser.plays_hls:
        return Plan("direct", "This browser plays no converted streams (HLS); trying the file as it is.")
    audio = hls_audio(info)
    if info.video is None:
        if not info.audio:
            return Plan("direct", "The file holds no sound or picture this browser could be given.")
        return Plan(
            "transcode", f"This browser cannot play {info.audio[0].codec} sound: converting to AAC.", audio
        )
    if browser.plays_video and info.video.codec == "h264":
        return Plan("remux", misbehaves or "The video is copied into a stream this browser plays.", audio)
    # HEVC is not copied into the MPEG-TS segments (only H.264 is), so HEVC a browser's MSE would
    # take is transcoded all the same.
    return Plan(
        "transcode",
        misbehaves or f"This browser cannot play {info.video.codec} video: converting to H.264.",
        audio,
    )
