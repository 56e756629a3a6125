"""HTML views. Error pages are here too: JSON under /api/, a friendly page elsewhere, never a trace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from server import network
from server.access import keys
from server.library import folders


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html", {"shares": [s for s in folders.shared()]})


@require_safe
def pair(request: HttpRequest) -> HttpResponse:
    """The phone link: a big QR code of the chosen LAN address (`?address=`), and every candidate."""
    import segno

    port = int(request.META.get("SERVER_PORT") or request.get_port())
    addresses = network.lan_addresses()
    chosen = next(
        (a for a in addresses if a.ip == request.GET.get("address")), addresses[0] if addresses else None
    )
    url = network.link(chosen.ip if chosen else "127.0.0.1", port, keys.current_key())
    # segno writes the SVG from our own URL (no user text reaches it), so it is safe to inline.
    qr = mark_safe(
        segno.make(url, error="m").svg_inline(omitsize=True, border=2, dark="#101418", light="#fff")
    )
    context = {"url": url, "qr": qr, "addresses": addresses, "chosen": chosen}
    return render(request, "pages/pair.html", context)


@require_safe
def key_needed(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/key_needed.html", {"message": "This needs the access key."})


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    return render(request, "pages/error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "This request is not allowed.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Nothing here: it may have been moved, renamed or unshared.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Something went wrong on the computer running Couchcast.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(request, 403, "The page was out of date; reload it and try again.")
