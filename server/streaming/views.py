"""The media view: one shared file's bytes, and its subtitles as WebVTT."""

from __future__ import annotations

import os
from typing import BinaryIO

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from server.library.folders import Shares
from server.library.media_types import content_type
from server.library.paths import NotShared, resolve_media, resolve_subtitle
from server.library.subtitles import SubtitleTooLarge, cached_vtt
from server.runtime import runtime_of
from server.streaming.responses import file_response

VTT_TYPE = "text/vtt; charset=utf-8"


def open_media(shares: Shares, folder_id: int, relpath: str) -> tuple[BinaryIO, str]:
    """The shared video or audio file at `relpath`, open for reading, and its Content-Type.

    Raises Http404 for anything that is not one. The caller owns the file.
    """
    try:
        path = resolve_media(shares.available_or_404(folder_id).path, relpath)
        return open(path, "rb"), content_type(path)  # noqa: SIM115 - the caller closes it
    except (NotShared, OSError) as exc:
        # Deleted, renamed or unreadable since it was listed: gone, as far as the viewer can tell.
        raise Http404("No such file.") from exc


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def media(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponseBase:
    """Most requests here are answered by `fast_path.MediaFastPath` before Django sees them."""
    file, media_type = open_media(runtime_of(request).shares, folder_id, relpath)
    return file_response(
        request,
        file,
        media_type,
        filename=os.path.basename(relpath),
        as_attachment=request.GET.get("download") == "1",
    )


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def subtitle(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponseBase:
    runtime = runtime_of(request)
    try:
        path = resolve_subtitle(runtime.shares.available_or_404(folder_id).path, relpath)
        vtt = cached_vtt(path, runtime.subtitle_file_cache)
        if isinstance(vtt, str):
            response = HttpResponse(vtt, content_type=VTT_TYPE)
            response["Cache-Control"] = "private, no-cache"
            return response
        file = open(vtt, "rb")  # noqa: SIM115 - file_response owns and closes it
    except (NotShared, OSError) as exc:
        raise Http404("No such subtitle file.") from exc
    except SubtitleTooLarge as exc:
        raise Http404("Subtitle file too large.") from exc
    name = os.path.splitext(os.path.basename(relpath))[0] + ".vtt"
    return file_response(request, file, VTT_TYPE, filename=name)
