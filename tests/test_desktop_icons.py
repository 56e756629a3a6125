"""The icon: drawn by Pillow for the tray, written as PNG/ICO/ICNS for the executable build."""

from __future__ import annotations

import runpy

from PIL import Image

from desktop.icon import draw_icon
from tests.helpers import PROJECT_ROOT


def test_tray_icon_is_a_rounded_square_with_transparent_corners():
    icon = draw_icon(64)
    assert (icon.size, icon.mode) == ((64, 64), "RGBA")
    assert icon.getpixel((0, 0))[3] == 0
    assert icon.getpixel((32, 32))[3] == 255


def test_build_icons_cover_every_size_windows_and_macos_ask_for(tmp_path):
    make_icons = runpy.run_path(str(PROJECT_ROOT / "assets" / "make_icons.py"))["make_icons"]
    make_icons(tmp_path)
    with Image.open(tmp_path / "couchcast.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(tmp_path / "couchcast.icns") as icns:
        assert {(512, 512, 2), (256, 256, 1), (128, 128, 1), (16, 16, 2)} <= set(icns.info["sizes"])
    for size in (16, 32, 256):
        with Image.open(tmp_path / f"couchcast-{size}.png") as png:
            assert png.size == (size, size)
