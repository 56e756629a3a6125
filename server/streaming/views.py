"""The media view: one shared file's bytes, and its subtitles as WebVTT."""

from __future__ import annotations

import os

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from server.library import folders
from server.library.media_types import content_type
from server.library.paths import NotShared, resolve_media, resolve_subtitle
from server.library.subtitles import to_vtt
from server.streaming.responses import file_response

MAX_SUBTITLE_BYTES = 10 * 1024 * 1024


def _shared_root(folder_id: int) -> str:
    share = folders.available(folder_id)
    if share is None:
        raise Http404("No such shared folder.")
    return share.path


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def media(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponseBase:
    try:
        path = resolve_media(_shared_root(folder_id), relpath)
        file = open(path, "rb")  # noqa: SIM115 - file_response owns and closes it
    except (NotShared, OSError) as exc:
        # Deleted, renamed or unreadable since it was listed: gone, as far as the viewer can tell.
        raise Http404("No such file.") from exc
    return file_response(
        request,
        file,
        content_type(path),
        filename=os.path.basename(relpath),
        as_attachment=request.GET.get("download") == "1",
    )


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def subtitle(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponse:
    try:
        path = resolve_subtitle(_shared_root(folder_id), relpath)
        with open(path, "rb") as file:
            data = file.read(MAX_SUBTITLE_BYTES + 1)
    except (NotShared, OSError) as exc:
        raise Http404("No such subtitle file.") from exc
    if len(data) > MAX_SUBTITLE_BYTES:
        raise Http404("Subtitle file too large.")
    response = HttpResponse(to_vtt(data, os.path.splitext(path)[1]), content_type="text/vtt; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"
    return response
