"""File objects that can never yield more than the bytes a response promised.

Both are seekable, so WSGI servers hand them to their `wsgi.file_wrapper`: waitress then sends them
from its I/O loop and the worker thread is free at once (a generator body would pin a worker for as
long as the slowest phone takes to read). Positions are absolute in the underlying file for
`BoundedFile` (so `os.sendfile` can use `tell()` as its offset) and within the body for `MultipartBody`.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from server.streaming.ranges import ByteRange


class BoundedFile(io.RawIOBase):
    """A window [start, end) of an open file; reads stop at `end` on any server."""

    def __init__(self, file: BinaryIO, start: int, end: int) -> None:
        self.file = file
        self.start = start
        self.end = end
        self.position = start
        file.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.file.fileno()

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.end}[whence]
        self.position = min(max(base + offset, self.start), self.end)
        return self.position

    def read(self, size: int = -1) -> bytes:
        remaining = self.end - self.position
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size <= 0:
            return b""
        if self.file.tell() != self.position:
            self.file.seek(self.position)
        data = self.file.read(size)
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.file.close()
        super().close()


class MultipartBody(io.RawIOBase):
    """A `multipart/byteranges` body (RFC 9110 §14.6) read straight from the file, part by part."""

    def __init__(
        self, file: BinaryIO, ranges: list[ByteRange], size: int, content_type: str, boundary: str
    ) -> None:
        self.file = file
        self.segments: list[bytes | ByteRange] = []
        for byte_range in ranges:
            self.segments.append(
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: {byte_range.content_range(size)}\r\n\r\n".encode("latin-1")
            )
            self.segments.append(byte_range)
            self.segments.append(b"\r\n")
        self.segments.append(f"--{boundary}--\r\n".encode("latin-1"))
        self.length = sum(len(s) if isinstance(s, bytes) else s.length for s in self.segments)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        self.position = min(max(base + offset, 0), self.length)
        return self.position

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.length - self.position
        chunks = []
        segment_start = 0
        for segment in self.segments:
            segment_length = len(segment) if isinstance(segment, bytes) else segment.length
            segment_end = segment_start + segment_length
            if size > 0 and segment_start <= self.position < segment_end:
                offset = self.position - segment_start
                take = min(size, segment_length - offset)
                if isinstance(segment, bytes):
                    chunk = segment[offset : offset + take]
                else:
                    self.file.seek(segment.start + offset)
                    chunk = self.file.read(take)
                    if len(chunk) < take:  # the file shrank under us: end the body short
                        self.position = self.length
                        chunks.append(chunk)
                        break
                chunks.append(chunk)
                self.position += take
                size -= take
            segment_start = segment_end
        return b"".join(chunks)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.file.close()
        super().close()
