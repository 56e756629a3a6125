"""Write the icon files the executable build needs (PNG, Windows ICO, macOS ICNS) into assets/.

Run `python assets/make_icons.py` before `pyinstaller build.spec`. The picture itself is drawn by
`desktop/icon.py` (the tray draws it from there at run time), so these files are build output and
are not committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent
sys.path.insert(0, str(ASSETS.parent))

from desktop.icon import draw_icon  # noqa: E402  (needs the project root on the path first)

PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)
ICO_SIZES = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]


def make_icons(target: Path = ASSETS) -> list[Path]:
    big = draw_icon(1024)
    written = []
    for size in PNG_SIZES:
        path = target / f"couchcast-{size}.png"
        draw_icon(size).save(path)
        written.append(path)
    big.save(target / "couchcast.ico", sizes=ICO_SIZES)
    big.save(target / "couchcast.icns")
    written += [target / "couchcast.ico", target / "couchcast.icns"]
    return written


if __name__ == "__main__":
    for path in make_icons():
        print(path)
