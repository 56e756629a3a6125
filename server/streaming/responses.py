"""Answer a GET or HEAD for an open file: validators, 304/412, 206/416, multipart, or 200.

Used by the media view and by anything else that serves bytes of a file (segments, downloads).
The caller opens the file; this module owns it from then on and closes it on every path.
"""

from __future__ import annotations

import os
import secrets
from typing import BinaryIO

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe

from server.streaming.files import BoundedFile, MultipartBody
from server.streaming.ranges import ByteRange, Unsatisfiable, parse_range_header


def entity_tag(stat: os.stat_result) -> str:
    """A strong ETag: the bytes of a file with this size and mtime are taken to be these bytes."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _if_range_allows(request: HttpRequest, etag: str, mtime: int | None) -> bool:
    """RFC 9110 §13.1.5: a Range applies only if If-Range (when sent) still names this file."""
    if_range = request.headers.get("If-Range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        return if_range == etag  # strong comparison: a weak tag never matches
    return mtime is not None and parse_http_date_safe(if_range) == mtime


def _last_modified(stat: os.stat_result) -> tuple[int | None, str | None]:
    """(mtime, HTTP date), or (None, None) for a time no HTTP date can say: a damaged NTFS or FAT
    volume hands out years like 30828, and that file must still play, only without the header."""
    mtime = int(stat.st_mtime)
    try:
        return mtime, http_date(mtime)
    except (ValueError, OverflowError, OSError):
        return None, None


def file_response(
    request: HttpRequest,
    file: BinaryIO,
    content_type: str,
    *,
    filename: str,
    as_attachment: bool = False,
) -> HttpResponseBase:
    """The full answer for `file` (already open) to this GET or HEAD request."""
    try:
        stat = os.fstat(file.fileno())
        size = stat.st_size
        etag = entity_tag(stat)
        mtime, last_modified = _last_modified(stat)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Cache-Control": "private, no-cache",
            "Content-Disposition": content_disposition_header(as_attachment, filename),
        }
        if last_modified:
            headers["Last-Modified"] = last_modified
        validators = HttpResponse(headers=headers)
        conditional = get_conditional_response(request, etag=etag, last_modified=mtime, response=validators)
        if conditional is not validators:
            file.close()
            return conditional

        ranges: list[ByteRange] | None = None
        range_header = request.headers.get("Range")
        if range_header and _if_range_allows(request, etag, mtime):
            try:
                ranges = parse_range_header(range_header, size)
            except Unsatisfiable:
                file.close()
                return HttpResponse(
                    status=416,
                    headers={**headers, "Content-Range": f"bytes */{size}"},
                    content_type="text/plain",
                )

        if ranges is None:
            status, body, length = 200, BoundedFile(file, 0, size), size
            headers["Content-Type"] = content_type
        elif len(ranges) == 1:
            (only,) = ranges
            status, body, length = 206, BoundedFile(file, only.start, only.end + 1), only.length
            headers["Content-Type"] = content_type
            headers["Content-Range"] = only.content_range(size)
        else:
            boundary = secrets.token_hex(16)
            body = MultipartBody(file, ranges, size, content_type, boundary)
            status, length = 206, body.length
            headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
        headers["Content-Length"] = str(length)
    except BaseException:
        file.close()
        raise

    if request.method == "HEAD":
        # waitress would send a file-wrapped body even for HEAD: answer with headers only.
        body.close()
        response = HttpResponse(status=status, headers=headers)
        response["Content-Length"] = str(length)
        return response
    # Content-Type passed on its own, or FileResponse guesses one from a file name the body lacks.
    body_type = headers.pop("Content-Type")
    response = FileResponse(body, status=status, headers=headers, content_type=body_type)
    response["Content-Length"] = str(length)
    return response
