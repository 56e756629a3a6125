"""Links to one file that work with nothing else: for players that send no cookie and no header.

VLC can send neither a cookie nor an Authorization header; GStreamer's HLS demuxer forwards neither to
segments; a cast receiver or a TV never has the phone's cookie. Such players get URLs under a signed
prefix:

    /l/<token>/hls/<folder>/<path>/remux-7.ts

The token is `<viewer>.<expiry>.<mac>`: an HMAC-SHA256, keyed by the access key, of the viewer id,
the expiry time and the file (shared folder id and path). It opens that one file's URLs (the file
itself, its playlists, segments and subtitles) until it expires; it never shows the access key, and a
new key makes every link stop working. The viewer id tells the conversion scheduler which player a
request comes from, so that one viewer's seek never stops another viewer's conversion.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

LINK_PREFIX = "/l/"
# Long enough for a film paused overnight and resumed the next evening; short enough that a link
# copied out of a log or a player's history is soon useless.
LINK_LIFETIME = 48 * 3600
_TOKEN = re.compile(r"^/l/([A-Za-z0-9_-]{1,16})\.([0-9a-f]{1,12})\.([A-Za-z0-9_-]{22})(/.*)$", re.DOTALL)


@dataclass(frozen=True)
class Link:
    """A signed prefix taken off a request path: who it was made for, and the path under it."""

    viewer: str
    expires: int
    mac: str
    rest: str  # the path under the prefix, e.g. "/hls/1/film.mkv/remux-7.ts"


def new_viewer() -> str:
    return secrets.token_urlsafe(6)


def _mac(key: str, viewer: str, expires: int, folder_id: int, relpath: str) -> str:
    message = f"{viewer}.{expires:x}.{folder_id}/{relpath}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token(key: str, folder_id: int, relpath: str, viewer: str, *, lifetime: float = LINK_LIFETIME) -> str:
    """A token that opens the URLs of this one file for `lifetime` seconds."""
    expires = int(time.time() + lifetime)
    return f"{viewer}.{expires:x}.{_mac(key, viewer, expires, folder_id, relpath)}"


def split(path: str) -> Link | None:
    """The signed prefix of a request path, or None when the path has none (or a malformed one)."""
    match = _TOKEN.match(path)
    if match is None:
        return None
    viewer, expires, mac, rest = match.groups()
    return Link(viewer, int(expires, 16), mac, rest)


def opens(key: str, link: Link, folder_id: int, relpath: str) -> bool:
    """Whether `link` was made with `key` for this file and has not expired."""
    if not key or link.expires < time.time():
        return False
    return hmac.compare_digest(link.mac, _mac(key, link.viewer, link.expires, folder_id, relpath))
