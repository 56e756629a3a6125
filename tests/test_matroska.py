"""Damaged Matroska indexes: the timeline reader (PyAV) still finds the keyframes, never raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.transcode.media import read_timeline
from tests.helpers import make_video

SEGMENT, CUES = bytes.fromhex("18538067"), bytes.fromhex("1C53BB6B")
CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS, CUE_TRACK = b"\xbb", b"\xb3", b"\xb7", b"\xf7"
SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = bytes.fromhex("114D9B74"), b"\x4d\xbb", b"\x53\xab", b"\x53\xac"


def element(element_id: bytes, data: bytes, size: int | None = None) -> bytes:
    """An EBML element, its size written as an 8-byte variable-length integer; a `size` other than
    len(data) is a lie."""
    size = len(data) if size is None else size
    return element_id + (1 << 56 | size).to_bytes(8, "big") + data


def element_span(film: bytes, start: int) -> tuple[int, int]:
    """(data start, end) of the element whose id begins at `start`."""
    size_start = start + (9 - film[start].bit_length())
    size_length = 9 - film[size_start].bit_length()
    data_start = size_start + size_length
    size = int.from_bytes(film[size_start:data_start], "big") & ((1 << 7 * size_length) - 1)
    return data_start, data_start + size


def with_extra_cue_point(film: bytes, cue_time: bytes, track: int = 1) -> bytes:
    """The film with one more CuePoint, first in its Cues (the last Cues element; the Cues resized)."""
    cues = film.rfind(CUES)
    data_start, end = element_span(film, cues)
    positions = element(CUE_TRACK_POSITIONS, element(CUE_TRACK, bytes([track])))
    point = element(CUE_POINT, element(CUE_TIME, cue_time) + positions)
    return film[:cues] + element(CUES, point + film[data_start:end]) + film[end:]


def with_cues_at(film: bytes, position: bytes) -> bytes:
    """The film with a SeekHead saying its Cues are at `position` (the only way to its Cues: they
    follow the Clusters). What follows the SeekHead moves, and is found by reading on from it."""
    seek_head = film.index(SEEK_HEAD)
    _, end = element_span(film, seek_head)
    seek = element(SEEK, element(SEEK_ID, CUES) + element(SEEK_POSITION, position))
    return film[:seek_head] + element(SEEK_HEAD, seek) + film[end:]


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]
    return make_video(tmp_path_factory.mktemp("mkv") / "film.mkv", 4, video=video)


def keyframes(path: Path) -> list[float]:
    return list(read_timeline(str(path), 0).keyframes)


def test_a_film_with_a_good_extra_cue_or_seek_head_keeps_its_keyframes(film, tmp_path):
    """The damage below is the only change: the same extra cue with a real time reads fine, and so
    does a new SeekHead that points to the real Cues."""
    data = film.read_bytes()
    changed = tmp_path / "changed.mkv"
    changed.write_bytes(with_extra_cue_point(data, (2000).to_bytes(2, "big")))
    assert keyframes(film) == [0.0, 1.0, 2.0, 3.0]
    assert keyframes(changed) == [0.0, 1.0, 2.0, 3.0]
    segment_data_start, _ = element_span(data, data.index(SEGMENT))
    cues_position = data.rfind(CUES) - segment_data_start
    seek_head_growth = len(with_cues_at(data, bytes(8))) - len(data)
    changed.write_bytes(with_cues_at(data, (cues_position + seek_head_growth).to_bytes(8, "big")))
    assert keyframes(changed) == [0.0, 1.0, 2.0, 3.0]


def test_a_cue_time_of_200_bytes_still_gives_the_films_keyframes(film, tmp_path):
    """A CueTime no float can hold (200 bytes of 0xFF): it used to raise OverflowError, a 500."""
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(with_extra_cue_point(film.read_bytes(), b"\xff" * 200))
    assert keyframes(damaged) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("position", [b"\xff" * 200, b"\xff" * 8], ids=["200-bytes", "past-2**63"])
def test_cues_said_to_be_past_any_file_still_give_the_films_keyframes(film, tmp_path, position):
    """A SeekHead placing the Cues further than a file can reach: the packets are read instead.
    Seeking there raised ValueError (a 500 for the viewer)."""
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(with_cues_at(film.read_bytes(), position))
    assert keyframes(damaged) == [0.0, 1.0, 2.0, 3.0]
