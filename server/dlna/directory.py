"""ContentDirectory:1 over the shared folders: object ids, Browse, and the DIDL-Lite it answers.

Object ids: "0" is the root, whose children are the shares; `c<share id>:<path>` is a folder (the
share itself when the path is empty), `i<share id>:<path>` a file. A share that is no longer shared
is gone from the root, and every id under it answers 701 (no such object).

Every URL handed out is a signed link for that one file (`server.access.links`): a TV has no cookie
and sends no header, and the long-lived access key never leaves this computer in a listing.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from server.dlna import profiles
from server.dlna.soap import (
    ARGUMENT_VALUE_INVALID,
    CANNOT_PROCESS,
    INVALID_ARGS,
    NO_SUCH_OBJECT,
    SoapFault,
    text,
)
from server.library.folders import Share
from server.library.listing import natural_key
from server.library.paths import NotShared, resolve_dir
from server.library.probe import MediaInfo
from server.library.titles import readable_title

# The most objects one Browse answer holds, whatever was asked (0 means "all" in the spec): a
# 5,000-file folder in one DIDL document is megabytes a TV may not hold. Fewer than asked is
# allowed; NumberReturned and TotalMatches tell the control point to ask for the next page.
MAX_PAGE = 500
# A folder's listing is read from disk for a Browse starting at index 0 and reused for the next pages
# for this long: paging through 5,000 files must not read the folder 50 times.
LISTING_FRESH_SECONDS = 30.0
LISTINGS_KEPT = 64
_OBJECT_ID = re.compile(r"^([ci])(\d{1,12}):(.*)$", re.DOTALL)
_ITEM_FIELDS = ("path", "name", "kind", "size", "duration", "thumbnail", "subtitles", "probe")

DIDL_OPEN = (
    '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:dlna="urn:schemas-dlna-org:metadata-1-0/" xmlns:sec="http://www.sec.co.kr/">'
)
DIDL_CLOSE = "</DIDL-Lite>"
ITEM_CLASSES = {"video": "object.item.videoItem", "audio": "object.item.audioItem.musicTrack"}

LinkPrefix = Callable[[int, str], str]


@dataclass(frozen=True)
class BrowseResult:
    didl: str
    returned: int
    total: int


def duration_text(seconds: float) -> str:
    """DIDL's H+:MM:SS.FFF."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def _container_id(folder_id: int, path: str) -> str:
    return f"c{folder_id}:{path}"


def _parent_id(folder_id: int, path: str) -> str:
    return _container_id(folder_id, path.rpartition("/")[0]) if path else "0"


# Brings one folder's rows up to date now and returns its sub-folder names (LibraryIndex.refresh_directory).
RefreshDirectory = Callable[[Share, str, str], list[str]]


class ContentDirectory:
    """Browse over whatever `shares()` returns at the moment of each call."""

    def __init__(
        self,
        shares: Callable[[], list[Share]],
        link_prefix: LinkPrefix,
        root_title: str,
        refresh_directory: RefreshDirectory,
    ) -> None:
        self._shares = shares
        self._refresh_directory = refresh_directory
        self._link_prefix = link_prefix
        self.root_title = root_title
        self._lock = threading.Lock()
        # (share id, path) -> (read at, [(kind, path), ...]) in the order Browse lists them.
        self._listings: OrderedDict[tuple[int, str], tuple[float, list[tuple[str, str]]]] = OrderedDict()
        self._update_id = 1
        self._signature: tuple = ()

    # --- UpdateID ---------------------------------------------------------------------------------

    def system_update_id(self) -> int:
        """A number that changes whenever the shares or the files in them do (SystemUpdateID)."""
        from django.db.models import Count, Max

        from server.library.models import MediaFile

        shares = tuple(sorted(s.id for s in self._shares()))
        totals = MediaFile.objects.filter(folder_id__in=shares).aggregate(
            count=Count("id"), last=Max("id"), changed=Max("mtime_ns")
        )
        signature = (shares, totals["count"], totals["last"], totals["changed"])
        with self._lock:
            if signature != self._signature:
                if self._signature:
                    self._update_id = self._update_id % (2**32 - 1) + 1
                self._signature = signature
            return self._update_id

    # --- Browse -----------------------------------------------------------------------------------

    def browse(
        self, object_id: str, flag: str, start: int, count: int, sort: str, base_url: str
    ) -> BrowseResult:
        if flag not in ("BrowseMetadata", "BrowseDirectChildren"):
            raise SoapFault(INVALID_ARGS, "BrowseFlag is neither BrowseMetadata nor BrowseDirectChildren")
        shares = {s.id: s for s in self._shares()}
        descending = sort.strip().startswith("-dc:title")
        if object_id == "0":
            if flag == "BrowseMetadata":
                return self._one(self._root_xml(len(shares)))
            children = [
                ("c", s.id, "", s.name) for s in sorted(shares.values(), key=lambda s: natural_key(s.name))
            ]
            return self._page(children, start, count, descending, base_url)
        match = _OBJECT_ID.match(object_id)
        share = shares.get(int(match[2])) if match else None
        if match is None or share is None:
            raise SoapFault(NO_SUCH_OBJECT, "No such object")
        kind, path = match[1], match[3]
        if kind == "i":
            if flag == "BrowseDirectChildren":
                # A file has no children: an empty answer, as the spec has it for items.
                return BrowseResult(DIDL_OPEN + DIDL_CLOSE, 0, 0)
            rows = self._rows(share, [path])
            if path not in rows:
                raise SoapFault(NO_SUCH_OBJECT, "No such object")
            return self._one(self._item_xml(share.id, rows[path], base_url))
        listing = self._listing(share, path, fresh=flag == "BrowseMetadata" or start == 0)
        if flag == "BrowseMetadata":
            title = path.rpartition("/")[2] or share.name
            return self._one(self._container_xml(share.id, path, title, child_count=len(listing)))
        children = [(k, share.id, p, p.rpartition("/")[2]) for k, p in listing]
        return self._page(children, start, count, descending, base_url, share=share)

    @staticmethod
    def _one(xml: str) -> BrowseResult:
        return BrowseResult(DIDL_OPEN + xml + DIDL_CLOSE, 1, 1)

    def _page(self, children, start, count, descending, base_url, share: Share | None = None) -> BrowseResult:
        total = len(children)
        if start > total:
            raise SoapFault(ARGUMENT_VALUE_INVALID, "StartingIndex is past the last child")
        if descending:
            children = children[::-1]
        size = MAX_PAGE if count == 0 else min(count, MAX_PAGE)
        page = children[start : start + size]
        rows = self._rows(share, [p for k, _, p, _ in page if k == "i"]) if share else {}
        parts = []
        for kind, folder_id, path, title in page:
            if kind == "c":
                parts.append(self._container_xml(folder_id, path, title))
            elif path in rows:
                parts.append(self._item_xml(folder_id, rows[path], base_url))
        return BrowseResult(DIDL_OPEN + "".join(parts) + DIDL_CLOSE, len(parts), total)

    def _listing(self, share: Share, path: str, *, fresh: bool) -> list[tuple[str, str]]:
        """A folder's sub-folders then its files, each in natural name order."""
        from server.library.models import MediaFile

        key = (share.id, path)
        with self._lock:
            kept = self._listings.get(key)
        if kept is not None and not fresh and time.monotonic() - kept[0] < LISTING_FRESH_SECONDS:
            return kept[1]
        try:
            _, real_dir = resolve_dir(share.path, path)
        except NotShared as exc:
            raise SoapFault(NO_SUCH_OBJECT, "No such object") from exc
        try:
            subfolders = self._refresh_directory(share, real_dir, path)
        except OSError as exc:
            raise SoapFault(CANNOT_PROCESS, "The folder cannot be read now") from exc
        prefix = f"{path}/" if path else ""
        files = MediaFile.objects.filter(folder_id=share.id, directory=path).values_list("path", "name")
        listing = [("c", prefix + name) for name in sorted(subfolders, key=natural_key)]
        listing += [("i", p) for p, _ in sorted(files, key=lambda row: natural_key(row[1]))]
        with self._lock:
            self._listings[key] = (time.monotonic(), listing)
            self._listings.move_to_end(key)
            while len(self._listings) > LISTINGS_KEPT:
                self._listings.popitem(last=False)
        return listing

    @staticmethod
    def _rows(share: Share, paths: list[str]) -> dict[str, dict]:
        from server.library.models import MediaFile

        if not paths:
            return {}
        rows = MediaFile.objects.filter(folder_id=share.id, path__in=paths).values(*_ITEM_FIELDS)
        return {row["path"]: row for row in rows}

    # --- What a media answer says to a DLNA player -----------------------------------------------

    def media_headers(
        self, folder_id: int, path: str, base_url: str, *, features: bool, captions: bool
    ) -> dict:
        """`contentFeatures.dlna.org` and `CaptionInfo.sec` for a file being sent, as asked for."""
        share = next((s for s in self._shares() if s.id == folder_id), None)
        row = self._rows(share, [path]).get(path) if share else None
        if row is None:
            return {}
        headers = {}
        if features:
            info = MediaInfo.from_json(row["probe"]) if row["probe"] else None
            headers["contentFeatures.dlna.org"] = profiles.content_features(info, row["name"])
        srt = _srt(row["subtitles"])
        if captions and srt:
            headers["CaptionInfo.sec"] = self._signed(base_url, folder_id, srt[0][0], "captions")
        return headers

    # --- DIDL-Lite --------------------------------------------------------------------------------

    def _root_xml(self, child_count: int) -> str:
        return (
            f'<container id="0" parentID="-1" restricted="1" searchable="0" childCount="{child_count}">'
            f"<dc:title>{text(self.root_title)}</dc:title><upnp:class>object.container</upnp:class></container>"
        )

    @staticmethod
    def _container_xml(folder_id: int, path: str, title: str, child_count: int | None = None) -> str:
        # childCount only where it is known without reading another folder (it is optional).
        count = "" if child_count is None else f' childCount="{child_count}"'
        return (
            f'<container id="{text(_container_id(folder_id, path))}" '
            f'parentID="{text(_parent_id(folder_id, path))}" restricted="1" searchable="0"{count}>'
            f"<dc:title>{text(title)}</dc:title><upnp:class>object.container.storageFolder</upnp:class>"
            "</container>"
        )

    def _signed(self, base_url: str, folder_id: int, path: str, route: str) -> str:
        return f"{base_url}{self._link_prefix(folder_id, path)}/{route}/{folder_id}/{quote(path, safe='/')}"

    def _item_xml(self, folder_id: int, row: dict, base_url: str) -> str:
        path, name = row["path"], row["name"]
        info = MediaInfo.from_json(row["probe"]) if row["probe"] else None
        attributes = [f'protocolInfo="{text(profiles.protocol_info(info, name))}"', f'size="{row["size"]}"']
        if row["duration"]:
            attributes.append(f'duration="{duration_text(row["duration"])}"')
        video = info.video if info else None
        if video is not None and video.width and video.height:
            attributes.append(f'resolution="{video.width}x{video.height}"')
        media_url = self._signed(base_url, folder_id, path, "media")
        parts = [
            f'<item id="{text("i" + str(folder_id) + ":" + path)}" '
            f'parentID="{text(_container_id(folder_id, path.rpartition("/")[0]))}" '
            'restricted="1">',
            f"<dc:title>{text(readable_title(name))}</dc:title>",
            f"<upnp:class>{ITEM_CLASSES.get(row['kind'], 'object.item')}</upnp:class>",
        ]
        if row["thumbnail"]:
            thumbnail = self._signed(base_url, folder_id, path, "thumbnails") + f"?v={row['thumbnail'][:12]}"
            art = f'<upnp:albumArtURI dlna:profileID="{profiles.THUMBNAIL_PROFILE}">'
            parts.append(f"{art}{text(thumbnail)}</upnp:albumArtURI>")
        captions = [
            self._signed(base_url, folder_id, sub, "captions") for sub, _, _ in _srt(row["subtitles"])
        ]
        parts += [f'<sec:CaptionInfoEx sec:type="srt">{text(url)}</sec:CaptionInfoEx>' for url in captions]
        parts.append(f"<res {' '.join(attributes)}>{text(media_url)}</res>")
        parts += [f'<res protocolInfo="http-get:*:text/srt:*">{text(url)}</res>' for url in captions]
        parts.append("</item>")
        return "".join(parts)


def _srt(subtitles: list) -> list:
    """The sidecar SubRip files of a video (TVs take SubRip; WebVTT files are for browsers only)."""
    return [entry for entry in subtitles or [] if str(entry[0]).lower().endswith(".srt")]
