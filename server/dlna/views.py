"""The DLNA HTTP side: device and service descriptions, control (SOAP), event subscriptions, captions.

All of it answers only while DLNA is on (404 otherwise) and only to the house's own addresses (403
otherwise). Nothing here changes anything: Browse reads the index, and every action that would write
(CreateObject, DestroyObject, ...) is absent from the service descriptions, so it is 401.
"""

from __future__ import annotations

import functools
import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.views.decorators.csrf import csrf_exempt

from server.dlna.addresses import is_private_address
from server.dlna.description import SCPD, SERVICES
from server.library.paths import NotShared, resolve_subtitle
from server.library.subtitles import MAX_SUBTITLE_BYTES, decode
from server.runtime import runtime_of

XML_TYPE = 'text/xml; charset="utf-8"'
# How long a subscription is said to last; no events are sent (nothing a TV needs changes under it
# while it browses), but control points that subscribe before browsing expect a subscription id.
SUBSCRIPTION_SECONDS = 1800


def _plain(message: str, status: int) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def dlna_view(view):
    """Only while DLNA is on, only for private addresses; the service is passed to the view."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        service = runtime_of(request).dlna
        if service is None:
            raise Http404("DLNA is off.")
        if not is_private_address(request.META.get("REMOTE_ADDR", "")):
            return _plain("DLNA answers only the house's own network.", 403)
        return view(request, service, *args, **kwargs)

    return csrf_exempt(guarded)


def base_url(request: HttpRequest) -> str:
    """`http://<the address the client used>:<our port>`: URLs it can reach us back on."""
    try:
        domain, _ = split_domain_port(request.get_host())
    except Exception:  # DisallowedHost and friends: a malformed Host header
        domain = ""
    port = request.META.get("SERVER_PORT", "")
    return f"http://{domain or request.META.get('SERVER_NAME', '127.0.0.1')}:{port}"


def _xml(body: bytes, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=XML_TYPE)
    response["Cache-Control"] = "no-cache"
    return response


@dlna_view
def device(request: HttpRequest, service) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _plain("Only GET.", 405)
    return _xml(service.device_description())


@dlna_view
def scpd(request: HttpRequest, service, name: str) -> HttpResponse:
    if name not in SCPD:
        raise Http404("No such service.")
    if request.method not in ("GET", "HEAD"):
        return _plain("Only GET.", 405)
    return _xml(SCPD[name])


@dlna_view
def control(request: HttpRequest, service, name: str) -> HttpResponse:
    if name not in SERVICES:
        raise Http404("No such service.")
    if request.method != "POST":
        return _plain("Control requests are POSTed.", 405)
    status, body = service.control(name, request.body, request.headers.get("SOAPAction"), base_url(request))
    response = _xml(body, status)
    response["EXT"] = ""
    return response


@dlna_view
def event(request: HttpRequest, service, name: str) -> HttpResponse:
    if name not in SERVICES:
        raise Http404("No such service.")
    if request.method == "SUBSCRIBE":
        response = HttpResponse(status=200)
        response["SID"] = request.headers.get("SID") or f"uuid:{uuid.uuid4()}"
        response["TIMEOUT"] = f"Second-{SUBSCRIPTION_SECONDS}"
        return response
    if request.method == "UNSUBSCRIBE":
        return HttpResponse(status=200)
    return _plain("Only SUBSCRIBE and UNSUBSCRIBE.", 405)


@dlna_view
def caption(request: HttpRequest, service, folder_id: int, relpath: str) -> HttpResponse:
    """A sidecar SubRip file as it is (TVs read SubRip, not the WebVTT the browser player gets)."""
    if request.method not in ("GET", "HEAD"):
        return _plain("Only GET.", 405)
    share = runtime_of(request).shares.available_or_404(folder_id)
    if not relpath.lower().endswith(".srt"):
        raise Http404("No such subtitle file.")
    try:
        path = resolve_subtitle(share.path, relpath)
        with open(path, "rb") as file:
            data = file.read(MAX_SUBTITLE_BYTES + 1)
    except (NotShared, OSError) as exc:
        raise Http404("No such subtitle file.") from exc
    if len(data) > MAX_SUBTITLE_BYTES:
        raise Http404("Subtitle file too large.")
    return HttpResponse(decode(data).encode("utf-8"), content_type="text/srt; charset=utf-8")
