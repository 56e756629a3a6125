"""The headers DLNA players ask for on a media answer (only for requests through a signed link, and
only while DLNA is on).

- `getcontentFeatures.dlna.org: 1` → `contentFeatures.dlna.org` (the same DLNA fields as the item's
  protocolInfo) and `transferMode.dlna.org`: several TVs stop playing without them.
- `getCaptionInfo.sec: 1` → `CaptionInfo.sec: <URL of the sidecar .srt>`: how Samsung TVs find
  subtitles for a file.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from server.runtime import runtime_of

TRANSFER_MODES = ("Streaming", "Interactive", "Background")


class DlnaHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        features = request.headers.get("getcontentFeatures.dlna.org", "").strip() == "1"
        captions = request.headers.get("getCaptionInfo.sec", "").strip() == "1"
        mode = request.headers.get("transferMode.dlna.org", "").strip()
        if not (features or captions or mode) or response.status_code not in (200, 206):
            return response
        service = runtime_of(request).dlna
        if service is None or not getattr(request, "couchcast_viewer", None):
            return response
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return response
        if match.url_name != "media":
            return response
        from server.dlna.views import base_url

        headers = service.directory.media_headers(
            match.kwargs["folder_id"],
            match.kwargs["relpath"],
            base_url(request),
            features=features,
            captions=captions,
        )
        for name, value in headers.items():
            response[name] = value
        if features or mode:
            response["transferMode.dlna.org"] = mode if mode in TRANSFER_MODES else "Streaming"
        return response
