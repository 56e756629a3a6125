"""Answer a GET or HEAD for an open file: validators, 304/412, 206/416, multipart, or 200.

`file_answer` decides the answer as plain data (status, headers, body) from the request's Range and
If-Range; `file_response` wraps it for Django views, and `server.streaming.fast_path` hands the same
answer straight to the WSGI server. The caller opens the file; from then on it is owned here (or by
the answer's body) and closed on every path.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import BinaryIO

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe

from server.streaming.files import BoundedFile, MultipartBody
from server.streaming.ranges import ByteRange, Unsatisfiable, parse_range_header

# WSGI names of the headers that make get_conditional_response do anything (If-Range is not one:
# file_answer weighs it). Without them the conditional step is skipped: the hot path.
CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)


@dataclass
class FileAnswer:
    """What to send: `body` is None for a HEAD or a 416, and is closed by whoever sends it."""

    status: int
    headers: dict[str, str]  # Content-Type and Content-Length included
    body: BoundedFile | MultipartBody | None


@dataclass(frozen=True)
class Validators:
    """The file's ETag and Last-Modified, and the headers every answer about it carries."""

    size: int
    etag: str
    mtime: int | None
    headers: dict[str, str]

    @classmethod
    def of(cls, file: BinaryIO, *, filename: str, as_attachment: bool) -> Validators:
        stat = os.fstat(file.fileno())
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
        return cls(stat.st_size, etag, mtime, headers)


class _BoundedFileResponse(FileResponse):
    """A FileResponse whose headers are all given: Django's seek/tell and name guessing are skipped.

    Still a FileResponse, so Django hands the body to the server's `wsgi.file_wrapper`.
    """

    def set_headers(self, filelike) -> None:
        pass


def entity_tag(stat: os.stat_result) -> str:
    """A strong ETag: the bytes of a file with this size and mtime are taken to be these bytes."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _if_range_allows(if_range: str | None, validators: Validators) -> bool:
    """RFC 9110 §13.1.5: a Range applies only if If-Range (when sent) still names this file."""
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        return if_range == validators.etag  # strong comparison: a weak tag never matches
    return validators.mtime is not None and parse_http_date_safe(if_range) == validators.mtime


def _last_modified(stat: os.stat_result) -> tuple[int | None, str | None]:
    """(mtime, HTTP date), or (None, None) for a time no HTTP date can say: a damaged NTFS or FAT
    volume hands out years like 30828, and that file must still play, only without the header."""
    mtime = int(stat.st_mtime)
    try:
        return mtime, http_date(mtime)
    except (ValueError, OverflowError, OSError):
        return None, None


def file_answer(
    file: BinaryIO,
    validators: Validators,
    content_type: str,
    *,
    method: str,
    range_header: str | None,
    if_range: str | None,
) -> FileAnswer:
    """200, 206 (one range or multipart) or 416 for `file`, conditional headers already weighed."""
    size = validators.size
    headers = dict(validators.headers)
    try:
        ranges: list[ByteRange] | None = None
        if range_header and _if_range_allows(if_range, validators):
            try:
                ranges = parse_range_header(range_header, size)
            except Unsatisfiable:
                file.close()
                headers.update({"Content-Range": f"bytes */{size}", "Content-Type": "text/plain"})
                headers["Content-Length"] = "0"
                return FileAnswer(416, headers, None)

        body: BoundedFile | MultipartBody
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
    if method == "HEAD":
        # waitress would send a file-wrapped body even for HEAD: answer with headers only.
        body.close()
        return FileAnswer(status, headers, None)
    return FileAnswer(status, headers, body)


def file_response(
    request: HttpRequest,
    file: BinaryIO,
    content_type: str,
    *,
    filename: str,
    as_attachment: bool = False,
) -> HttpResponseBase:
    """The full answer for `file` (already open) to this GET or HEAD request, as a Django response."""
    try:
        validators = Validators.of(file, filename=filename, as_attachment=as_attachment)
        if CONDITIONAL_HEADERS.intersection(request.META):
            conditional = _conditional_response(request, validators)
            if conditional is not None:
                file.close()
                return conditional
    except BaseException:
        file.close()
        raise
    answer = file_answer(
        file,
        validators,
        content_type,
        method=request.method or "GET",
        range_header=request.headers.get("Range"),
        if_range=request.headers.get("If-Range"),
    )
    headers = answer.headers
    if answer.body is None:
        return HttpResponse(status=answer.status, headers=headers)
    body_type = headers.pop("Content-Type")
    return _BoundedFileResponse(answer.body, status=answer.status, headers=headers, content_type=body_type)


def _conditional_response(request: HttpRequest, validators: Validators) -> HttpResponse | None:
    """The 304 or 412 that If-None-Match, If-Modified-Since, If-Match or If-Unmodified-Since ask for."""
    plain = HttpResponse(headers=validators.headers)
    conditional = get_conditional_response(
        request, etag=validators.etag, last_modified=validators.mtime, response=plain
    )
    return None if conditional is plain else conditional
