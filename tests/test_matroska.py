"""The Matroska Cues reader on damaged files: no cues (the caller scans the file), never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.transcode.matroska import cue_keyframes
from tests.helpers import make_video

CUES = bytes.fromhex("1C53BB6B")
CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS, CUE_TRACK = b"\xbb", b"\xb3", b"\xb7", b"\xf7"


def element(element_id: bytes, data: bytes) -> bytes:
    """An EBML element, its size written as an 8-byte variable-length integer."""
    return element_id + (1 << 56 | len(data)).to_bytes(8, "big") + data


def with_extra_cue_point(film: bytes, cue_time: bytes, track: int = 1) -> bytes:
    """The film with one more CuePoint, first in its Cues (the last Cues element; the Cues resized)."""
    cues = film.rfind(CUES)
    size_start = cues + len(CUES)
    size_length = 9 - film[size_start].bit_length()
    data_start = size_start + size_length
    size = int.from_bytes(film[size_start:data_start], "big") & ((1 << 7 * size_length) - 1)
    positions = element(CUE_TRACK_POSITIONS, element(CUE_TRACK, bytes([track])))
    point = element(CUE_POINT, element(CUE_TIME, cue_time) + positions)
    data = point + film[data_start : data_start + size]
    return film[:cues] + element(CUES, data) + film[data_start + size :]


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]
    return make_video(tmp_path_factory.mktemp("mkv") / "film.mkv", 4, video=video)


def test_a_film_with_a_good_extra_cue_keeps_its_keyframes(film, tmp_path):
    """The damage below is the only change: the same extra cue with a real time reads fine."""
    changed = tmp_path / "changed.mkv"
    changed.write_bytes(with_extra_cue_point(film.read_bytes(), (500).to_bytes(2, "big")))
    assert cue_keyframes(str(film)) == [0.0, 1.0, 2.0, 3.0]
    assert cue_keyframes(str(changed)) == [0.0, 0.5, 1.0, 2.0, 3.0]


def test_a_cue_time_of_200_bytes_means_no_cues(film, tmp_path):
    """A CueTime no float can hold (200 bytes of 0xFF) makes the Cues unusable, and the caller scans
    the file instead; it used to raise OverflowError, a 500 for the viewer."""
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(with_extra_cue_point(film.read_bytes(), b"\xff" * 200))
    assert cue_keyframes(str(damaged)) is None
