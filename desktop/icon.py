"""The Couchcast icon drawn with Pillow: a screen with a play sign on a dark rounded square.

The same picture as the web app's `icon.svg`. The tray draws it at start (a few milliseconds), and
`assets/make_icons.py` writes the PNG, ICO and ICNS files the executable build needs from it, so no
binary image is kept in the repository.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

BACKGROUND = (26, 32, 39, 255)
ACCENT = (79, 179, 255, 255)
DARK = (16, 20, 24, 255)
# Drawn on a 64-unit grid (like icon.svg), supersampled, then scaled down: smooth edges at any size.
GRID = 64
SUPERSAMPLE = 4


def draw_icon(size: int = 64) -> Image.Image:
    """The icon as an RGBA image of size x size pixels."""
    canvas = max(size, GRID) * SUPERSAMPLE
    unit = canvas / GRID
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (x * unit, y * unit, (x + w) * unit, (y + h) * unit)

    draw.rounded_rectangle(box(0, 0, 64, 64), radius=14 * unit, fill=BACKGROUND)
    draw.rounded_rectangle(box(10, 16, 44, 28), radius=5 * unit, fill=ACCENT)
    draw.polygon([(28 * unit, 23 * unit), (28 * unit, 37 * unit), (40 * unit, 30 * unit)], fill=DARK)
    draw.rounded_rectangle(box(18, 48, 28, 4), radius=2 * unit, fill=ACCENT)
    return image.resize((size, size), Image.Resampling.LANCZOS)
