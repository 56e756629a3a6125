"""Guards every request with the access key, and sets the headers every answer carries.

The key arrives three ways (docs/design.md, "The contract"): `?key=` on any URL (an HTML page then
gets a long-lived HttpOnly cookie and a redirect to the same URL without the key, so it does not linger
in the address bar or history), the cookie (all a phone's <video> element sends: Safari sends no
Authorization header for media), and `Authorization: Bearer`.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.utils.encoding import escape_uri_path

from server.access import keys, links
from server.errors import DIRECT_PREFIXES, error_response
from server.runtime import runtime_of

# No key needed: assets, and the page that says a key is needed.
OPEN_PREFIXES = ("/static/", "/favicon.ico", "/key-needed")
# What a signed link (server.access.links) may open: one file's bytes, playlists, segments, subtitles.
LINKED_VIEWS = frozenset({"media", "subtitle", "hls-playlist", "hls-segment", "hls-subtitle"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Every answer carries these (a view may set its own first); the media fast path adds them too.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class HeadWithoutBodyMiddleware:
    """A HEAD answer keeps its headers (Content-Length included) and loses its body.

    waitress writes whatever body the application returns, even for HEAD (docs/design.md): a JSON or
    HTML body after a HEAD would be read by a keep-alive client as the start of the next response.
    The media view answers HEAD itself; this covers every other view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if response.streaming:
            response.streaming_content = []  # the file behind it is still closed by response.close()
        else:
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class AccessKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        link = links.split(request.path_info)
        if link is not None:
            return self._follow_link(request, link)

        access_keys = runtime_of(request).keys
        query_key = request.GET.get("key")
        offered = keys.offered_keys(
            query=query_key,
            authorization=request.headers.get("Authorization", ""),
            cookie=request.COOKIES.get(keys.COOKIE_NAME),
        )
        admission = access_keys.admit(offered, client_address(request))
        if admission.wait > 0:
            return self._too_many(request, admission)
        if not admission.admitted:
            return self._refuse(request, admission.refusal)

        if query_key and not request.path.startswith(DIRECT_PREFIXES) and request.method == "GET":
            return self._clean_redirect(request, query_key, access_keys)
        return self.get_response(request)

    def _follow_link(self, request: HttpRequest, link: links.Link) -> HttpResponse:
        """A signed link: the file's own URL under it is answered when the link opens that file.

        A link that does not is refused without counting as a wrong key: it holds no key to guess.
        """
        try:
            match = resolve(link.rest)
        except Resolver404:
            match = None
        if (
            match is None
            or match.url_name not in LINKED_VIEWS
            or not links.opens(
                runtime_of(request).access_key, link, int(match.kwargs["folder_id"]), match.kwargs["relpath"]
            )
        ):
            return self._refuse(
                request, "This link has expired or does not open this file; ask for a new one."
            )
        request.path_info = request.path = link.rest
        request.couchcast_viewer = link.viewer
        return self.get_response(request)

    @staticmethod
    def _clean_redirect(request: HttpRequest, query_key: str, access_keys: keys.AccessKeys) -> HttpResponse:
        """The same page without the key in its URL; the cookie carries the key from now on."""
        rest = [(k, v) for k, values in request.GET.lists() if k != "key" for v in values]
        query = urlencode(rest)
        # request.path is decoded: re-encode it, or a name holding "?" or "#" would cut the URL short.
        response = HttpResponseRedirect(escape_uri_path(request.path) + (f"?{query}" if query else ""))
        if access_keys.is_valid(query_key):
            # A stale key in the URL (an old QR code) must not replace a cookie that still works.
            response.set_cookie(
                keys.COOKIE_NAME,
                query_key,
                max_age=keys.COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _refuse(request: HttpRequest, message: str) -> HttpResponse:
        response = error_response(
            request, 401, message, template="pages/key_needed.html", direct_as_text=True
        )
        # Never keep a refusal: once the key is given, the same URL must be asked again.
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _too_many(request: HttpRequest, admission: keys.Admission) -> HttpResponse:
        response = error_response(request, 429, admission.refusal, direct_as_text=True)
        response["Retry-After"] = str(math.ceil(admission.wait))
        response["Cache-Control"] = "no-store"
        return response
