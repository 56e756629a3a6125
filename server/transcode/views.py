"""Playback views: what to ask the browser and how to play (JSON), HLS playlists, segments, subtitles.

Every failure is a JSON `{"error": ...}` with a 4xx/5xx a player can show: a missing ffmpeg (503) or
a broken file (422) never breaks the rest of the library, and direct play keeps working without ffmpeg.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from server.access import links
from server.library import codecs
from server.library.models import MediaFile
from server.library.paths import NotShared, resolve_media
from server.library.probe import MediaInfo
from server.runtime import runtime_of
from server.streaming.responses import file_response
from server.transcode import media
from server.transcode.burn import BurnedRendition, styled_track
from server.transcode.open_in import open_in_links
from server.transcode.plan import BrowserCaps, browser_family
from server.transcode.scheduler import (
    REMUX_COST,
    NoRoom,
    Scheduler,
    Superseded,
    conversion_cost,
    no_room_message,
)
from server.transcode.segments import Rendition, fixed_boundaries, keyframe_boundaries, playlist
from server.transcode.tracks import (
    STYLED_CODECS,
    BadChoice,
    TrackChoice,
    audio_choices,
    plan_for_choice,
    subtitle_choices,
)

ANSWERS = ("file", "video", "hls")
# Seconds a player is told to wait before asking again: a viewer stopping frees a conversion within
# seconds; reading a file's keyframes takes a few seconds per gigabyte from a slow disk.
NO_ROOM_RETRY = 10
STILL_READING_RETRY = 3


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json_errors(not_found: str):
    """Answer a missing file or stream with a JSON 404 and a conversion failure with a JSON 422/503."""

    def decorate(view):
        @functools.wraps(view)
        def answer(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except Http404:
                return _error(not_found, 404)
            except (NoRoom, media.StillReading) as exc:
                response = _error(str(exc), 503)
                response["Retry-After"] = str(
                    NO_ROOM_RETRY if isinstance(exc, NoRoom) else STILL_READING_RETRY
                )
                return response
            except Superseded as exc:
                return _error(str(exc), 410)
            except media.MediaError as exc:
                return _error(str(exc), 503 if isinstance(exc, media.FfmpegMissing) else 422)
            except FileNotFoundError:
                # Removed between being made and being opened (the server is stopping): gone.
                return _error(f"{not_found} Reload the video.", 404)

        return answer

    return decorate


def _shared_file(request: HttpRequest, folder_id: int | str, relpath: str) -> str:
    share = runtime_of(request).shares.available_or_404(folder_id)
    try:
        return resolve_media(share.path, relpath)
    except NotShared as exc:
        raise Http404("No such file.") from exc


def _media_info(folder_id: int | str, relpath: str, path: str) -> MediaInfo:
    """The file's streams: from the library index when it has probed this very version of the file,
    else probed here (and cached by path, size and mtime)."""
    media.require_ffmpeg()  # converting needs it even when the index already knows the file
    _, size, mtime_ns = media.identity(path)
    indexed = (
        MediaFile.objects.filter(folder_id=int(folder_id), path=relpath, size=size, mtime_ns=mtime_ns)
        .exclude(probe__isnull=True)
        .values_list("probe", flat=True)
        .first()
    )
    if indexed and not _knows_the_picture(indexed):
        indexed = None  # probed before the probe read colours and field order: probe again
    return MediaInfo.from_json(indexed) if indexed else media.media_info(path)


def _knows_the_picture(probe: dict) -> bool:
    """Whether a stored probe has the fields a transcode's picture filters need (HDR, interlacing)."""
    return all(
        "field_order" in stream for stream in probe.get("streams", ()) if stream.get("kind") == "video"
    )


def _convertible(info: MediaInfo, kind: str) -> bool:
    if info.video is None:
        return kind == "transcode" and bool(info.audio)  # sound-only: re-encoded to AAC
    return kind == "transcode" or info.video.codec == "h264"


def _timeline_stream(info: MediaInfo) -> int:
    """The stream segments are cut on: the video, else (a sound-only file) the first sound."""
    return info.video.index if info.video is not None else info.audio[0].index


def _cost(kind: str, info: MediaInfo) -> float:
    if info.video is None:
        return REMUX_COST  # sound alone: about what a remux costs (its sound is re-encoded too)
    return conversion_cost(kind, info.video.width, info.video.height, None)


def _subtitles(folder_id: int, relpath: str, info: MediaInfo) -> list[dict]:
    return subtitle_choices(info, lambda number: reverse("hls-subtitle", args=[folder_id, relpath, number]))


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


@require_safe
def playback(request: HttpRequest, folder_id: int) -> JsonResponse:
    """The file's MIME strings to ask the browser about; with the answers, the plan and its URL.

    `?path=P` alone: `types` to test. `?path=P&file=0|1&video=0|1&hls=0|1`: also `plan`.
    """
    relpath = request.GET.get("path", "")
    try:
        path = _shared_file(request, folder_id, relpath)
    except Http404:
        return _error("No such file in this shared folder.", 404)
    body: dict = {
        "name": os.path.basename(relpath),
        "path": relpath,
        "duration": None,
        "direct_url": reverse("media", args=[folder_id, relpath]),
        "types": {"file": None, "video": None},
        "audio": [],
        "subtitles": [],
        "problem": None,
    }
    info = None
    try:
        info = _media_info(folder_id, relpath, path)
    except media.MediaError as exc:
        body["problem"] = str(exc)
    except OSError:
        return _error("No such file in this shared folder.", 404)  # removed since it was resolved
    if info is not None:
        body["duration"] = info.duration
        body["types"] = {"file": codecs.file_type(info, path), "video": codecs.copied_video_type(info)}
        body["audio"] = audio_choices(info)
        body["subtitles"] = _subtitles(folder_id, relpath, info)
    if all(name in request.GET for name in ANSWERS):
        family = browser_family(request.headers.get("User-Agent", ""))
        caps = BrowserCaps(*(request.GET[name] == "1" for name in ANSWERS), family=family)
        if info is None:
            body["plan"] = {"kind": "direct", "reason": body["problem"], "url": body["direct_url"]}
            body["open_in"] = open_in_links(request, folder_id, relpath, path, None, None, TrackChoice())
        else:
            try:
                choice = TrackChoice.from_query(request.GET, info)
            except BadChoice as exc:
                return _error(str(exc), 400)
            plan = plan_for_choice(info, caps, choice)
            body["plan"] = {"kind": plan.kind, "reason": plan.reason, "url": body["direct_url"], "busy": None}
            if plan.converted:
                playlist_url = reverse("hls-playlist", args=[folder_id, relpath, plan.kind])
                body["plan"]["url"] = _with_query(playlist_url, choice.query())
                body["plan"]["busy"] = _busy(runtime_of(request).scheduler, plan.kind, info)
                with contextlib.suppress(media.MediaError):
                    # Start reading where the file can be cut now: the playlist comes next.
                    runtime_of(request).timelines.timeline(path, _timeline_stream(info), wait=0)
            # The same film for VLC and cast receivers: signed links, with the viewer's tracks.
            body["open_in"] = open_in_links(request, folder_id, relpath, path, info, plan, choice)
    return JsonResponse(body)


def _busy(scheduler: Scheduler, kind: str, info: MediaInfo) -> str | None:
    """Why this conversion cannot start now, in words for the viewer; None when there is room."""
    if scheduler.room_for(_cost(kind, info)):
        return None
    return no_room_message(scheduler.converting())


@dataclass(frozen=True)
class _Conversion:
    """A file converted one way: what the playlist and the segments are made from."""

    key: str  # the file's version and the way: names its segments in the cache
    rendition: Rendition
    cost: float
    query: str = ""  # the track choice, for the segment URLs (TrackChoice.query)


def _conversion(request: HttpRequest, folder_id: str, relpath: str, kind: str) -> _Conversion:
    """The conversion a playlist or segment URL names: the file, the way, and the viewer's tracks
    (`audio=`, `burn=` in its query; see server.transcode.tracks)."""
    path = _shared_file(request, folder_id, relpath)
    info = _media_info(folder_id, relpath, path)
    if not _convertible(info, kind):
        raise Http404("This file is not converted this way.")
    try:
        choice = TrackChoice.from_query(request.GET, info)
    except BadChoice as exc:
        raise Http404(str(exc)) from exc
    if choice.burn is not None and (kind != "transcode" or info.video is None):
        raise Http404("Subtitles are drawn into the picture by a transcode only.")
    timeline = runtime_of(request).timelines.timeline(path, _timeline_stream(info))
    boundaries = keyframe_boundaries(timeline) if kind == "remux" else fixed_boundaries(timeline)
    audio = choice.audio_stream(info)
    fields = {
        "source": path,
        "kind": kind,
        "video_stream": info.video.index if info.video is not None else None,
        "audio_stream": audio,
        "origin": timeline.origin,
        "boundaries": tuple(boundaries),
        "end": timeline.end,
        "keyframes": timeline.keyframes,
        "indexed": timeline.indexed,
        "video": info.video,
    }
    if choice.burn is None:
        rendition = Rendition(**fields)
    else:
        subtitle = info.subtitles[choice.burn]
        styled = None
        if subtitle.codec in STYLED_CODECS:
            styled = str(styled_track(path, choice.burn, runtime_of(request).subtitle_cache))
        rendition = BurnedRendition(
            **fields, subtitle_stream=subtitle.index, subtitle_codec=subtitle.codec, styled_file=styled
        )
    # Each track choice is a conversion of its own (its own segments, its own cache folder), and so
    # is each picture treatment: segments made before deinterlacing or tone mapping are not mixed in.
    way = (media.identity(path), kind, audio, choice.burn, info.video)
    key = hashlib.sha256(repr(way).encode()).hexdigest()[:24]
    return _Conversion(key, rendition, _cost(kind, info), choice.query())


def _viewer(request: HttpRequest) -> str:
    """Who asks: the viewer named by the signed link the playlist gave, else one shared name."""
    return getattr(request, "couchcast_viewer", "")


@require_safe
@_json_errors("No such file in this shared folder.")
def hls_playlist(request: HttpRequest, folder_id: str, relpath: str, kind: str) -> HttpResponse:
    """The VOD playlist. Its segment URLs carry a signed link for a new viewer (server.access.links):
    they work in players that send no cookie and no header, and never show the access key."""
    conversion = _conversion(request, folder_id, relpath, kind)
    rendition = conversion.rendition
    access_key = runtime_of(request).access_key
    prefix = links.LINK_PREFIX + links.token(access_key, int(folder_id), relpath, links.new_viewer())
    # reverse() already percent-encodes the path: encoding it again turned "My Film.mkv" into
    # "My%2520Film.mkv", a file the link does not open (401 for every segment).
    base = prefix + reverse("hls-segment", args=[folder_id, relpath, kind, 0])[: -len("0.ts")]
    # The segments carry the playlist's track choice: each choice is a conversion of its own.
    suffix = f"?{conversion.query}" if conversion.query else ""
    text = playlist(list(rendition.boundaries), rendition.end, lambda number: f"{base}{number}.ts{suffix}")
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@_json_errors("No such segment.")
def hls_segment(
    request: HttpRequest, folder_id: str, relpath: str, kind: str, number: str
) -> HttpResponseBase:
    conversion = _conversion(request, folder_id, relpath, kind)
    index = int(number)
    if index >= len(conversion.rendition.boundaries):
        raise Http404("No such segment.")
    segment = runtime_of(request).scheduler.segment(
        conversion.key, conversion.rendition, index, viewer=_viewer(request), cost=conversion.cost
    )
    file = open(segment, "rb")  # noqa: SIM115 - file_response owns and closes it
    return file_response(request, file, "video/mp2t", filename=f"{kind}-{index}.ts")


@require_safe
@_json_errors("No such subtitle track.")
def hls_subtitle(request: HttpRequest, folder_id: str, relpath: str, number: str) -> HttpResponseBase:
    path = _shared_file(request, folder_id, relpath)
    info = _media_info(folder_id, relpath, path)
    if int(number) >= len(info.subtitles) or info.subtitles[int(number)].codec not in media.TEXT_SUBTITLES:
        raise Http404("No such subtitle track.")
    vtt = media.subtitle_vtt(path, int(number), runtime_of(request).subtitle_cache)
    file = open(vtt, "rb")  # noqa: SIM115 - file_response owns and closes it
    return file_response(request, file, "text/vtt; charset=utf-8", filename=f"subtitles-{number}.vtt")
