"""Long test videos in no time: a short ffmpeg-made piece repeated by stream copy (concat demuxer)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from server.ffmpeg import ffmpeg_binary


def repeat_video(piece: Path, times: int, target: Path, extra: list[str] | None = None) -> Path:
    """`piece` `times` over in one file, stream-copied (`extra`: output options, e.g. a codec tag)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    listing = target.with_name(target.name + ".txt")
    listing.write_text("".join(f"file '{piece}'\n" for _ in range(times)))
    subprocess.run(
        [ffmpeg_binary() or "ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
         "-c", "copy", *(extra or []), str(target)],
        check=True,
    )  # fmt: skip
    listing.unlink()
    return target
