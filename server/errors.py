"""How an error is answered, decided in one place: JSON under /api/, plain text for the URLs a player
or a program fetches (media, segments, subtitles, thumbnails), a page for a person elsewhere.

Never a trace and never Django's debug page: DEBUG is off, and the handlers in `server.urls` answer
through here too.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from server.access.links import LINK_PREFIX

API_PREFIX = "/api/"
# URLs fetched by players and scripts, not read by a person: their errors are a line of text.
DIRECT_PREFIXES = (API_PREFIX, "/media/", "/subtitles/", "/thumbnails/", "/hls/", LINK_PREFIX)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    template: str = "pages/error.html",
    direct_as_text: bool = False,
) -> HttpResponse:
    """The answer to a request that failed, `message` in words for the person or the player.

    `direct_as_text` answers the players' URLs with plain text (the access check: a page template
    would be noise in a player's log); otherwise only /api/ differs from the page.
    """
    if is_api(request):
        return JsonResponse({"error": message}, status=status)
    if direct_as_text and request.path.startswith(DIRECT_PREFIXES):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return render(request, template, {"status": status, "message": message}, status=status)
