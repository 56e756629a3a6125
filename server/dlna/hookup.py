"""How the views find the DLNA service of the server answering a request.

`service_of(request)` is the one accessor; until the server's state lives in one runtime object, the
service of this process is set here by whoever starts it (`install`) and cleared when it stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from server.dlna.service import DlnaService


class _Installed:
    """The running service of this process, or None while DLNA is off (the default)."""

    service: DlnaService | None = None


def install(service: DlnaService | None) -> None:
    _Installed.service = service


def service_of(request: HttpRequest) -> DlnaService | None:
    """The DLNA service behind this request's server; None when DLNA is off."""
    return _Installed.service
