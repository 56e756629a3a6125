"""What Couchcast says on its terminal: lines that survive a reader that left, and the phone's QR code."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def unless_nobody_reads(stream: TextIO) -> Iterator[TextIO]:
    """Write to `stream`; if whoever read it has gone (`couchcast serve | head`), go on serving
    and send the rest of what is said to nowhere, instead of dying on BrokenPipeError."""
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # Python's docs' recipe


def say(message: str = "", *, error: bool = False) -> None:
    with unless_nobody_reads(sys.stderr if error else sys.stdout) as stream:
        print(message, file=stream)


def print_phone_link(url: str) -> None:
    import segno

    say(f"Phone:  {url}")
    say("Scan this with a phone on the same Wi-Fi:")
    qr = segno.make(url, error="m")
    with unless_nobody_reads(sys.stdout):
        try:
            qr.terminal(compact=True)
        except UnicodeEncodeError:
            qr.terminal()


def ensure_streams() -> None:
    """A windowed build (no console) has no stdout/stderr: printing must not crash it."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
