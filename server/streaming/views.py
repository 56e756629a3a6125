"""The media view: one shared file's bytes, and its subtitles as WebVTT."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from server.library import folders
from server.library.media_types import content_type
from server.library.paths import NotShared, resolve_media, resolve_subtitle
from server.library.subtitles import SubtitleTooLarge, cached_vtt
from server.streaming.responses import file_response

VTT_TYPE = "text/vtt; charset=utf-8"


def _shared_root(folder_id: int) -> str:
    share = folders.available(folder_id)
    if share is None:
        raise Http404("No such shared folder.")
    return share.path


def open_media(folder_id: int, relpath: str) -> tuple[BinaryIO, str]:
    """The shared video or audio file at `relpath`, open for reading, and its Content-Type.

    Raises Http404 for anything that is not one. The caller owns the file.
    """
    try:
        path = resolve_media(_shared_root(folder_id), relpath)
        return open(path, "rb"), content_type(path)  # noqa: SIM115 - the caller closes it
    except (NotShared, OSError) as exc:
        # Deleted, renamed or unreadable since it was listed: gone, as far as the viewer can tell.
        raise Http404("No such file.") from exc


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def media(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponseBase:
    """Most requests here are answered by `fast_path.MediaFastPath` before Django sees them."""
    file, media_type = open_media(folder_id, relpath)
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
    try:
        path = resolve_subtitle(_shared_root(folder_id), relpath)
        vtt = cached_vtt(path, Path(settings.DIRS.cache) / "subtitle-files")
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
