"""Keyframe times of a Matroska (MKV/WebM) file from its Cues index, without reading the whole file.

A remux cuts segments at keyframes, so it needs them all before the playlist exists. Scanning the
packets reads the whole file (a 4 GB film from a USB disk: tens of seconds before the first frame);
muxers (mkvmerge, ffmpeg) write a cue point per video keyframe into the Cues element, which the
SeekHead at the start of the file points to. Anything unexpected returns None and the caller scans.
"""

from __future__ import annotations

import os
from typing import BinaryIO

EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TIMESTAMP_SCALE = 0x1549A966, 0x2AD7B1
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x83
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS, CUE_TRACK = 0x1C53BB6B, 0xBB, 0xB3, 0xB7, 0xF7
CLUSTER, CLUSTER_TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0x1F43B675, 0xE7, 0xA3, 0xA0, 0xA1
FIRST_CLUSTER_BYTES = 1024 * 1024
VIDEO_TRACK = 1
MAX_INDEX_BYTES = 64 * 1024 * 1024  # a Cues element of a very long film is a few MB
# No film is a year long: a later cue is damage (EBML integers can have hundreds of digits, more
# than a float holds), and the file is scanned instead.
LATEST_CUE_SECONDS = 365 * 24 * 3600


class _Malformed(Exception):
    pass


def _vint(data: bytes, offset: int, keep_marker: bool) -> tuple[int, int]:
    """(value, next offset) of an EBML variable-length integer."""
    if offset >= len(data):
        raise _Malformed("truncated")
    first = data[offset]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or offset + length > len(data):
        raise _Malformed("bad length")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, offset + length


def _elements(data: bytes, start: int = 0, end: int | None = None):
    """(id, data start, data end) of each element in data[start:end]."""
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        element, offset = _vint(data, offset, keep_marker=True)
        size, offset = _vint(data, offset, keep_marker=False)
        yield element, offset, min(offset + size, end)
        offset += size


def _uint(data: bytes, start: int, end: int) -> int:
    return int.from_bytes(data[start:end], "big")


def _read_element(file: BinaryIO, position: int) -> tuple[int, bytes]:
    """The element at `position`: its id and its data."""
    if position >= os.fstat(file.fileno()).st_size:
        # A SeekHead position is any EBML integer: past the end is damage (and past 2**63 no seek).
        raise _Malformed("element past the end of the file")
    file.seek(position)
    head = file.read(12)
    element, offset = _vint(head, 0, keep_marker=True)
    size, offset = _vint(head, offset, keep_marker=False)
    if size > MAX_INDEX_BYTES:
        raise _Malformed("element too large")
    file.seek(position + offset)
    return element, file.read(size)


def cue_keyframes(path: str) -> list[float] | None:
    """Keyframe times (s) of the only video track, from the Cues; None when they cannot be used."""
    try:
        with open(path, "rb") as file:
            return _cue_keyframes(file)
    except (OSError, _Malformed):
        return None


def _cue_keyframes(file: BinaryIO) -> list[float] | None:
    element, _ = _read_element(file, 0)
    if element != EBML:
        return None
    file.seek(0)
    head = file.read(64)
    _, header_end = next((e, end) for e, _, end in _elements(head) if e == EBML)
    file.seek(header_end)
    segment_head = file.read(12)
    element, offset = _vint(segment_head, 0, keep_marker=True)
    _, offset = _vint(segment_head, offset, keep_marker=False)
    if element != SEGMENT:
        return None
    segment_start = header_end + offset

    # The top-level elements before the first Cluster: SeekHead, Info, Tracks (sometimes Cues);
    # others (attachments, tags) are skipped unread.
    found: dict[int, bytes] = {}
    positions: dict[int, int] = {}
    first_block = None
    position = segment_start
    size = os.fstat(file.fileno()).st_size
    while position < size:
        file.seek(position)
        head = file.read(12)
        element, offset = _vint(head, 0, keep_marker=True)
        length, offset = _vint(head, offset, keep_marker=False)
        if element == CLUSTER:
            first_block = _first_timestamp(file, position + offset, length)
            break
        if element in (SEEK_HEAD, INFO, TRACKS, CUES):
            found[element] = _read_element(file, position)[1]
        position += offset + length
    seek_head = found.get(SEEK_HEAD, b"")
    for seek, start, end in _elements(seek_head):
        if seek == SEEK:
            fields = {e: (s, t) for e, s, t in _elements(seek_head, start, end)}
            if SEEK_ID in fields and SEEK_POSITION in fields:
                positions[_uint(seek_head, *fields[SEEK_ID])] = segment_start + _uint(
                    seek_head, *fields[SEEK_POSITION]
                )
    for wanted in (INFO, TRACKS, CUES):
        if wanted not in found and wanted in positions:
            element, data = _read_element(file, positions[wanted])
            if element == wanted:
                found[wanted] = data
    if TRACKS not in found or CUES not in found:
        return None

    scale = 1_000_000  # nanoseconds per timestamp unit, Matroska's default
    for element, start, end in _elements(found.get(INFO, b"")):
        if element == TIMESTAMP_SCALE:
            scale = _uint(found[INFO], start, end)
    tracks = found[TRACKS]
    video = []
    for element, start, end in _elements(tracks):
        if element == TRACK_ENTRY:
            fields = {
                e: _uint(tracks, s, t)
                for e, s, t in _elements(tracks, start, end)
                if e in (TRACK_NUMBER, TRACK_TYPE)
            }
            if fields.get(TRACK_TYPE) == VIDEO_TRACK and TRACK_NUMBER in fields:
                video.append(fields[TRACK_NUMBER])
    if len(video) != 1:
        return None

    cues = found[CUES]
    times = []
    for element, start, end in _elements(cues):
        if element != CUE_POINT:
            continue
        time = None
        tracks_here = []
        for field, field_start, field_end in _elements(cues, start, end):
            if field == CUE_TIME:
                time = _uint(cues, field_start, field_end)
            elif field == CUE_TRACK_POSITIONS:
                for inner, inner_start, inner_end in _elements(cues, field_start, field_end):
                    if inner == CUE_TRACK:
                        tracks_here.append(_uint(cues, inner_start, inner_end))
        if time is not None and video[0] in tracks_here:
            times.append(time)
    if not times or first_block is None:
        return None
    # ffmpeg counts times from the file's start (the earliest block of any track), cues from 0.
    nanoseconds = sorted((time - first_block) * scale for time in times)
    if nanoseconds[0] < 0 or nanoseconds[-1] > LATEST_CUE_SECONDS * 10**9:
        return None
    return [round(time / 1e9, 9) for time in nanoseconds]


def _first_timestamp(file: BinaryIO, data_start: int, size: int) -> int | None:
    """The earliest block timestamp (in TimestampScale units) near the start of the first Cluster."""
    file.seek(data_start)
    data = file.read(min(size, FIRST_CLUSTER_BYTES))
    cluster_time = None
    earliest = None
    try:
        for element, start, end in _elements(data):
            if element == CLUSTER_TIMESTAMP:
                cluster_time = _uint(data, start, end)
            blocks = [(start, end)] if element == SIMPLE_BLOCK else []
            if element == BLOCK_GROUP:
                blocks = [(s, t) for e, s, t in _elements(data, start, end) if e == BLOCK]
            for block_start, block_end in blocks:
                _, offset = _vint(data, block_start, keep_marker=False)  # the track number
                if cluster_time is None or offset + 2 > block_end:
                    continue
                time = cluster_time + int.from_bytes(data[offset : offset + 2], "big", signed=True)
                earliest = time if earliest is None else min(earliest, time)
    except _Malformed:
        pass  # the window ended inside an element: the blocks before it are enough
    return earliest
