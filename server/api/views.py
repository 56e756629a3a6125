"""JSON views: thin wrappers over the library; every error is `{"error": ...}` with a 4xx status
(a 5xx only when this computer cannot do its part, such as saving on a full disk)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from server.library import catalog, progress
from server.library.paths import NotShared, resolve_dir, resolve_media
from server.runtime import runtime_of

MAX_PROGRESS_BODY = 4096
NEARLY_FULL = 1024 * 1024  # less free space than this under the data folder: the disk is full
NOT_SAVED = "Your place in this video is not being saved"  # the player shows the whole message

log = logging.getLogger(__name__)


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def folder_list(request: HttpRequest) -> JsonResponse:
    shares = runtime_of(request).shares.shared()
    return JsonResponse({"folders": [{"id": s.id, "name": s.name} for s in shares if s.available]})


@csrf_exempt  # read-only: any other method gets 405 from require_safe, not a CSRF 403
@require_safe
def folder_items(request: HttpRequest, folder_id: int) -> JsonResponse:
    runtime = runtime_of(request)
    share = runtime.shares.available_or_404(folder_id)
    relpath = request.GET.get("path", "").rstrip("/")
    try:
        _, real_dir = resolve_dir(share.path, relpath)
    except NotShared:
        return error("No such folder in this shared folder.", 404)
    subfolders = runtime.index.refresh_directory(share, real_dir, relpath)
    contents = catalog.folder_contents(share, relpath, subfolders, request.GET.get("sort", "name"))
    dirs = [{"name": d.name, "path": d.path, "type": "dir"} for d in contents.subfolders]
    return JsonResponse({"items": dirs + [item.to_json() for item in contents.items]})


@require_POST
def save_progress(request: HttpRequest) -> JsonResponse:
    """Where a file was left off: `{"folder_id", "path", "position", "duration", "ended"}`, and the
    tracks chosen (optional): `"audio"` (a stream index), `"subtitles"` (the player's name for it).

    Protected by Django's CSRF check (the page sends its token as X-CSRFToken): the key cookie is
    SameSite=Lax, but another web page on the same computer (another port) counts as same-site.
    A report that cannot be right (a position that is not a finite number of seconds within the file)
    is refused with a 400 that says which field is wrong: a stored position is shown on every page.
    """
    if len(request.body) > MAX_PROGRESS_BODY:
        return error("Request too large.", 413)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the interpreter allows ("[" * 4000 fits in the body);
        # the parser raises it cleanly, and a progress report is one flat object anyway.
        return error("The body must be JSON.", 400)
    if not isinstance(data, dict):
        return error("The body must be a JSON object.", 400)
    folder_id, path, position = data.get("folder_id"), data.get("path"), data.get("position")
    duration, ended = data.get("duration"), data.get("ended", False)
    if isinstance(folder_id, bool) or not isinstance(folder_id, int) or not isinstance(path, str):
        return error('"folder_id" (number), "path" (text) and "position" (seconds) are needed.', 400)
    if not isinstance(ended, bool):
        return error('"ended" must be true or false.', 400)
    audio, subtitles = data.get("audio"), data.get("subtitles")
    problem = progress.tracks_problem(audio, subtitles)
    if problem:
        return error(f"{problem}.", 400)
    problem = progress.seconds_problem(duration) if duration is not None else None
    if problem:
        return error(f'"duration" {problem}.', 400)
    runtime = runtime_of(request)
    share = runtime.shares.available_or_404(folder_id)
    try:
        resolve_media(share.path, path)
    except NotShared:
        return error("No such file in this shared folder.", 404)
    problem = progress.position_problem(position, catalog.duration(share, path))
    if problem:
        return error(f'"position" {problem}.', 400)
    try:
        saved = progress.record(
            folder_id, path, float(position), duration, ended, audio=audio, subtitles=subtitles
        )
    except DatabaseError as exc:
        log.warning("Watch progress not saved: %s", exc)
        if _no_room_for_the_database(exc, runtime.dirs.data):
            return error(f"{NOT_SAVED}: the computer running Couchcast has no disk space left.", 507)
        return error(f"{NOT_SAVED}: the library database cannot be written just now.", 503)
    return JsonResponse({"position": saved.position, "watched": saved.watched})


def _no_room_for_the_database(exc: DatabaseError, data_dir: Path) -> bool:
    """Whether a failed write is the disk's fault. SQLite says "database or disk is full" for most
    writes, but a WAL or shared-memory page it cannot get on a full disk is a "disk I/O error"."""
    if "full" in str(exc):
        return True
    try:
        return shutil.disk_usage(data_dir).free < NEARLY_FULL
    except OSError:
        return False
