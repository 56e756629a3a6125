"""Parse a Range header into byte ranges (RFC 9110 §14), as plain data before any I/O.

The policy, in the order applied:
- a header that is not `bytes=` followed by valid range specs is ignored (the caller sends 200);
- a range whose first byte is past the end, or a zero-length suffix, is unsatisfiable; if every range
  is, the answer is 416;
- ends are clamped to the file, suffixes longer than the file mean the whole file;
- more than MAX_RANGES ranges, or ranges adding up to more than the file, are ignored (200): a
  request must never make the server send more than the file itself (no amplification);
- the rest are sorted and overlapping or adjacent ones merged.
Digit strings of any length are accepted without converting huge ones to int (Python refuses
`int()` on more than 4,300 digits): anything over 18 significant digits is simply "beyond any file",
and two such numbers are still compared exactly, so "bytes=(30 nines)-(25 nines)" stays invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_RANGES = 16
_HUGE = 10**18
# Matched against a spec with its blanks already stripped: blanks on both sides of an optional number
# ("[ \t]*(\d*)[ \t]*") would let the engine split a run of blanks every possible way, and a 20 KB
# spec of blanks took 0.3 s (a 256 KB header, about a minute, holding the GIL).
_SPEC = re.compile(r"(\d*)[ \t]*-[ \t]*(\d*)", re.ASCII)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable(Exception):
    """No range in the header overlaps the file: answer 416 with `Content-Range: bytes */size`."""


def _significant(digits: str) -> str:
    return digits.lstrip("0") or "0"  # "000…0005" is 5, however many zeros lead


def _number(digits: str) -> int:
    digits = _significant(digits)
    return int(digits) if len(digits) <= 18 else _HUGE


def _less(a: str, b: str) -> bool:
    """a < b for digit strings of any length, without int()."""
    a, b = _significant(a), _significant(b)
    return (len(a), a) < (len(b), b)


def parse_range_header(header: str, size: int) -> list[ByteRange] | None:
    """The ranges to send, sorted and merged; None to ignore the header; raises Unsatisfiable."""
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or size <= 0:
        return None
    parts = specs.split(",")
    ranges: list[ByteRange] = []
    valid_specs = 0
    for part in parts:
        if valid_specs > MAX_RANGES:
            return None  # stop early: a 256 KB header of ranges costs no more than a short one
        part = part.strip(" \t")
        if not part:
            continue  # RFC 9110 allows empty list elements: "bytes=0-1,,2-3"
        match = _SPEC.fullmatch(part)
        if not match:
            return None
        first, last = match.groups()
        if first:
            if last and _less(last, first):
                return None  # "5-2" is invalid syntax, not an empty range
            start = _number(first)
            end = _number(last) if last else size - 1
            valid_specs += 1
            if start < size:
                ranges.append(ByteRange(start, min(end, size - 1)))
        elif last:
            valid_specs += 1
            suffix = _number(last)
            if suffix > 0:
                ranges.append(ByteRange(max(size - suffix, 0), size - 1))
        else:
            return None  # "-" alone
    if valid_specs == 0 or valid_specs > MAX_RANGES:
        return None
    if not ranges:
        raise Unsatisfiable
    if sum(r.length for r in ranges) > size:
        return None  # e.g. "0-,0-": asks for more than the file; send it once instead
    return _merge(ranges)


def _merge(ranges: list[ByteRange]) -> list[ByteRange]:
    ranges = sorted(ranges, key=lambda r: r.start)
    merged = [ranges[0]]
    for current in ranges[1:]:
        last = merged[-1]
        if current.start <= last.end + 1:
            merged[-1] = ByteRange(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged
