"""HTML views, and the error handlers (answered by `server.errors`: JSON under /api/, else a page)."""

from __future__ import annotations

import functools
import os

import segno
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import Resolver404, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from server import network
from server.errors import error_response
from server.ffmpeg import ffmpeg_available
from server.library import catalog, progress
from server.library.describe import thumbnail_lost
from server.library.folders import Share
from server.library.paths import NotShared, resolve_dir, resolve_media
from server.runtime import Runtime, runtime_of
from server.streaming.responses import file_response

RECENT_LIMIT = 12
PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9" fill="#1d252e"/>'
    '<path d="M6.5 2.8v3.4L9.6 4.5z" fill="#3a4756"/></svg>'
)


def _available_shares(runtime: Runtime, shares: list[Share] | None = None) -> list[Share]:
    """The shares that can be served now (of `shares`, default all), each indexed at least once."""
    shares = [s for s in (shares if shares is not None else runtime.shares.shared()) if s.available]
    for share in shares:
        runtime.index.ensure_scanned(share)
    return shares


def _page_context() -> dict:
    return {"thumbnails_off": not ffmpeg_available()}


@functools.lru_cache(maxsize=8)
def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=5, border=3, dark="#000", light="#fff")


def _server_port(request: HttpRequest) -> int:
    """The port this server answers on (not the Host header's, which a proxy or a typo may change)."""
    try:
        return int(request.META.get("SERVER_PORT", ""))
    except ValueError:
        return int(request.get_port())


def _phone_link(request: HttpRequest) -> dict:
    url = network.phone_url(_server_port(request), runtime_of(request).access_key)
    return {"url": url, "qr": _qr_data_uri(url)}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    runtime = runtime_of(request)
    all_shares = runtime.shares.shared()
    shares = _available_shares(runtime, all_shares)
    recent = catalog.recently_added(shares, RECENT_LIMIT)
    context = {
        **_page_context(),
        "all_shares": all_shares,
        "shares": [(s, catalog.folder_url(s.id)) for s in shares],
        "continue_watching": catalog.continue_watching(shares),
        "recent": recent,
        "phone": _phone_link(request),
    }
    return render(request, "pages/home.html", context)


def _indexed_share_or_404(runtime: Runtime, folder_id: int) -> Share:
    share = runtime.shares.available_or_404(folder_id)
    runtime.index.ensure_scanned(share)
    return share


@require_safe
def folder(request: HttpRequest, folder_id: int, relpath: str = "") -> HttpResponse:
    runtime = runtime_of(request)
    share = _indexed_share_or_404(runtime, folder_id)
    relpath = relpath.rstrip("/")
    try:
        _, real_dir = resolve_dir(share.path, relpath)
    except NotShared as exc:
        raise Http404("No such folder.") from exc
    subfolders = runtime.index.refresh_directory(share, real_dir, relpath)
    sort = request.GET.get("sort", "name")
    sort = sort if sort in catalog.SORTS else "name"
    contents = catalog.folder_contents(share, relpath, subfolders, sort)
    context = {**_page_context(), "contents": contents, "sort": sort, "sorts": catalog.SORTS.items()}
    return render(request, "pages/folder.html", context)


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    results = catalog.search(_available_shares(runtime_of(request)), query) if query else []
    return render(request, "pages/search.html", {**_page_context(), "query": query, "results": results})


@require_safe
def watch(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponse:
    runtime = runtime_of(request)
    share = _indexed_share_or_404(runtime, folder_id)
    directory = relpath.rpartition("/")[0]
    try:
        resolve_media(share.path, relpath)
        _, real_dir = resolve_dir(share.path, directory)
    except NotShared as exc:
        raise Http404("No such file.") from exc
    runtime.index.refresh_directory(share, real_dir, directory)
    item = catalog.find(share, relpath)
    if item is None:
        raise Http404("No such file.")
    before, after = catalog.neighbours(share, item)
    player = {
        **item.to_json(),
        "folder_id": share.id,
        "mime": item.mime,
        "resume": item.position,
        "tracks": progress.chosen_tracks(share.id, relpath),
        "previous_url": before.watch_url if before else None,
        "next_url": after.watch_url if after else None,
        "next_title": after.title if after else None,
        "progress_url": reverse("api-progress"),
        "csrf_token": get_token(request),
    }
    context = {
        **_page_context(),
        "item": item,
        "player": player,
        "previous": before,
        "next": after,
        "folder_url": catalog.folder_url(share.id, directory),
        "folder_name": directory.rpartition("/")[2] or share.name,
    }
    return render(request, "pages/player.html", context)


@require_safe
def thumbnail(request: HttpRequest, folder_id: int, relpath: str) -> HttpResponseBase:
    """A file's thumbnail from the cache, or a placeholder while there is none (never made here:
    a lost one is asked of the scanner again)."""
    runtime = runtime_of(request)
    share = runtime.shares.available_or_404(folder_id)
    try:
        real_path = resolve_media(share.path, relpath)
        stat = os.stat(real_path)
    except (NotShared, OSError) as exc:
        raise Http404("No such file.") from exc
    cache = runtime.thumbnails
    key = cache.key(real_path, stat.st_size, stat.st_mtime_ns)
    try:
        image = open(cache.image_path(key), "rb")  # noqa: SIM115 - file_response owns and closes it
    except OSError:
        if request.GET.get("v"):  # a URL the index gave out for a made thumbnail: the cache lost it
            thumbnail_lost(folder_id, relpath, key)
        response = HttpResponse(PLACEHOLDER_SVG, content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"
        return response
    response = file_response(request, image, "image/jpeg", filename=f"{os.path.basename(relpath)}.jpg")
    # The URL carries the cache key (?v=), so a changed file gets a new URL: cache for long.
    response["Cache-Control"] = "private, max-age=2592000, immutable"
    return response


@require_safe
def pair(request: HttpRequest) -> HttpResponse:
    """The phone link: a big QR code of the chosen LAN address (`?address=`), and every candidate."""
    port = _server_port(request)
    addresses = network.lan_addresses()
    chosen = next(
        (a for a in addresses if a.ip == request.GET.get("address")), addresses[0] if addresses else None
    )
    url = network.link(chosen.ip if chosen else "127.0.0.1", port, runtime_of(request).access_key)
    # segno writes the SVG from our own URL (no user text reaches it), so it is safe to inline.
    qr = mark_safe(
        segno.make(url, error="m").svg_inline(omitsize=True, border=2, dark="#101418", light="#fff")
    )
    dlna = runtime_of(request).dlna
    context = {
        "url": url,
        "qr": qr,
        "addresses": addresses,
        "chosen": chosen,
        "dlna_name": dlna.friendly_name if dlna is not None else None,
    }
    return render(request, "pages/pair.html", context)


@require_safe
def key_needed(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/key_needed.html", {"message": "This needs the access key."})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, "This request is not allowed.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A view's own Http404 says what is missing ("This folder is not shared..."); the URL resolver's
    # carries a dict of patterns tried, which is nobody's business.
    said = exception.args[0] if isinstance(exception, Http404) and exception.args else None
    if isinstance(exception, Resolver404) or not isinstance(said, str):
        said = "Nothing here: it may have been moved, renamed or unshared."
    return error_response(request, 404, said)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500, "Something went wrong on the computer running Couchcast.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, 403, "The page was out of date; reload it and try again.")
