"""Links that take the film the phone is watching to another player: VLC, a cast receiver, AirPlay.

None of those players has the phone's cookie, and none should ever see the access key: each link is a
signed per-file link (server.access.links) in front of the file's own URL, absolute, on the address
the phone used to reach this computer (the Host it sent), since that is the address known to work
from the phone's network. Two links are given:

- `url`: what the phone itself plays: the file as it is, or (when the plan is a conversion) its HLS
  playlist with the viewer's sound track and burned subtitles in the query, as the segments carry
  them. VLC on the phone gets this one: it plays what the phone's browser plays, with the same tracks.
- `cast_url`: what a cast receiver plays best: the file as it is when receivers commonly decode it
  (MP4 with 8-bit H.264 and AAC or MP3 sound, and no other track chosen), else the HLS playlist
  (H.264 copied when it can be, else transcoded). A Chromecast or an Apple TV is not asked what it
  plays, so the rule is the formats every one of them plays.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from server.access import links
from server.library import codecs
from server.library.probe import MediaInfo
from server.runtime import runtime_of
from server.transcode.plan import Plan
from server.transcode.tracks import TrackChoice

HLS_TYPE = "application/vnd.apple.mpegurl"
# What every Chromecast generation and Apple TV decodes from a plain URL (Google's "supported media"
# list: MP4 with H.264 High up to level 4.1 and AAC or MP3). 10-bit and 4:2:2/4:4:4 H.264 are not.
CAST_VIDEO_PROFILES = {"baseline", "constrained baseline", "main", "high", ""}
CAST_AUDIO = {"aac", "mp3"}


def signed_url(request: HttpRequest, folder_id: int, relpath: str, url: str) -> str:
    """`url` (a path of this file, already encoded, query and all) behind a new signed link, absolute
    on the host and scheme the request came in on."""
    token = links.token(runtime_of(request).access_key, int(folder_id), relpath, links.new_viewer())
    return f"{request.scheme}://{request.get_host()}{links.LINK_PREFIX}{token}{url}"


def _cast_decodes(codec: str, profile: str | None) -> bool:
    return codec == "h264" and (profile or "").lower() in CAST_VIDEO_PROFILES


def cast_plays_as_is(info: MediaInfo) -> bool:
    """Whether a cast receiver plays this file from its URL without a conversion."""
    if info.container == "mp3":
        return info.video is None
    if not (info.container or "").startswith("mov,mp4"):
        return False
    video = info.video
    if video is not None and not _cast_decodes(video.codec, video.profile):
        return False
    if info.audio and info.audio[0].codec not in CAST_AUDIO:
        return False
    return video is not None or bool(info.audio)


def _playlist(folder_id: int, relpath: str, kind: str, choice: TrackChoice) -> str:
    url = reverse("hls-playlist", args=[folder_id, relpath, kind])
    return f"{url}?{choice.query()}" if choice.query() else url


def _cast_kind(info: MediaInfo, choice: TrackChoice) -> str:
    """The conversion a receiver gets: the H.264 copied when it is one receivers decode, else a transcode."""
    video = info.video
    if video is None or choice.burn is not None:
        return "transcode"
    if _cast_decodes(video.codec, video.profile):
        return "remux"
    return "transcode"


def open_in_links(
    request: HttpRequest,
    folder_id: int,
    relpath: str,
    path: str,
    info: MediaInfo | None,
    plan: Plan | None,
    choice: TrackChoice,
) -> dict:
    """`/api/playback`'s `open_in`: {url, type, kind, cast_url, cast_type, cast_kind}, each URL signed.

    Without a probe (no ffmpeg, a broken file) or a plan, both are the file as it is: nothing can be
    converted, and another player may still play it."""
    direct = reverse("media", args=[folder_id, relpath])
    file_type = codecs.container_type(info, path) if info is not None else "video/*"
    if info is None or plan is None:
        kind, own_path, own_type = "direct", direct, file_type
        cast_kind, cast_path, cast_type = kind, own_path, own_type
    else:
        if plan.converted:
            kind, own_path, own_type = plan.kind, _playlist(folder_id, relpath, plan.kind, choice), HLS_TYPE
        else:
            kind, own_path, own_type = "direct", direct, file_type
        if cast_plays_as_is(info) and not choice.query():
            cast_kind, cast_path, cast_type = "direct", direct, file_type
        else:
            cast_kind = _cast_kind(info, choice)
            cast_path, cast_type = _playlist(folder_id, relpath, cast_kind, choice), HLS_TYPE
    url = signed_url(request, folder_id, relpath, own_path)
    # The same stream for both: one link.
    cast_url = url if cast_path == own_path else signed_url(request, folder_id, relpath, cast_path)
    return {
        "url": url,
        "type": own_type,
        "kind": kind,
        "cast_url": cast_url,
        "cast_type": cast_type,
        "cast_kind": cast_kind,
    }
