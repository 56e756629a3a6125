"""JSON views: thin wrappers over the library; every error is `{"error": ...}` with a 4xx."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from server.library import folders
from server.library.listing import Entry, list_directory
from server.library.paths import NotShared, resolve_dir


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def item_json(folder_id: int, entry: Entry) -> dict:
    if entry.type == "dir":
        return {"name": entry.name, "path": entry.path, "type": "dir"}
    return {
        "name": entry.name,
        "path": entry.path,
        "type": entry.type,
        "size": entry.size,
        "modified": entry.modified.isoformat() if entry.modified else None,
        "stream_url": reverse("media", args=[folder_id, entry.path]),
        "thumbnail_url": None,
        "duration": None,
        "subtitles": [
            {
                "label": sub.label,
                "language": sub.language,
                "url": reverse("subtitle", args=[folder_id, sub.path]),
            }
            for sub in entry.subtitles
        ],
    }


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def folder_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"folders": [{"id": s.id, "name": s.name} for s in folders.shared() if s.available]})


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def folder_items(request: HttpRequest, folder_id: int) -> JsonResponse:
    share = folders.available(folder_id)
    if share is None:
        return error("No shared folder with this id.", 404)
    relpath = request.GET.get("path", "").rstrip("/")
    try:
        real_root, real_dir = resolve_dir(share.path, relpath)
    except NotShared:
        return error("No such folder in this shared folder.", 404)
    entries = list_directory(real_root, real_dir, relpath)
    return JsonResponse({"items": [item_json(folder_id, e) for e in entries]})
