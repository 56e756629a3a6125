"""Make the README's screenshots: a demo library served by a real Couchcast, shot in Chromium.

    .venv/bin/python scripts/screenshots.py      # writes docs/screenshots/*.png

Not part of the test suite (the pictures only change when the pages do); PNGs are palette-quantized
to stay small.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.ffmpeg import ffmpeg_binary  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import start_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# (file in the demo library, lavfi source): varied pictures, all generated, nothing downloaded.
DEMO = [
    ("Films/Triangles.Forever.2021.1080p.WEB-DL.x264.mp4", "sierpinski=size=640x360:rate=10"),
    ("Films/The.Long.Road.Home.2019.720p.BluRay.mp4", "gradients=size=640x360:speed=0.02:seed=7:rate=10"),
    ("Films/Colour_Bars_Documentary.mp4", "smptehdbars=size=640x360:rate=10"),
    ("Films/Night Sky (2018).mp4", "perlin=size=640x360:octaves=4:persistence=0.6:rate=10"),
    (
        "Series/Life.s01e01.Beginnings.mp4",
        "gradients=size=640x360:speed=0.03:seed=3:c0=#264653:c1=#e9c46a:c2=#e76f51:nb_colors=3:rate=10",
    ),
    (
        "Series/Life.s01e02.Patterns.mp4",
        "gradients=size=640x360:speed=0.03:seed=11:c0=#3a0ca3:c1=#4cc9f0:type=radial:rate=10",
    ),
    ("Series/Life.s01e03.Spectrum.mp4", "colorspectrum=size=640x360:type=all:rate=10"),
    ("Holiday 2024/Beach day.mp4", "gradients=size=640x360:speed=0.05:seed=42:c0=#f4b860:c1=#2a9d8f:rate=10"),
    (
        "Holiday 2024/Mountains.mp4",
        "gradients=size=640x360:speed=0.02:seed=5:c0=#1d3557:c1=#a8dadc:c2=#f1faee:nb_colors=3:rate=10",
    ),
]
SUBTITLES = "1\n00:00:00,000 --> 00:00:29,000\nThe road home was longer\nthan anyone remembered.\n\n"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
    # An Android phone's Chrome: the player offers what such a phone can do (Open in VLC).
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
}


def make_demo(root: Path) -> None:
    for relpath, source in DEMO:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                ffmpeg_binary(), "-v", "error", "-y", "-f", "lavfi", "-i", source,
                "-f", "lavfi", "-i", "sine=frequency=220:duration=30",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-movflags", "+faststart", "-t", "30", str(path),
            ],
            check=True,
        )  # fmt: skip
    (root / "Films/The.Long.Road.Home.2019.720p.BluRay.en.srt").write_text(SUBTITLES, encoding="utf-8")


def save_small(png: bytes, name: str, width: int) -> None:
    with Image.open(io.BytesIO(png)) as image:
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    OUT.mkdir(parents=True, exist_ok=True)
    small.save(OUT / name, optimize=True)
    print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB")


def wait_until(page, expression: str) -> None:
    for _ in range(300):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise TimeoutError(expression)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "Videos"
        make_demo(library)
        live = start_server([library], Path(tmp) / "home")
        try:
            # Wait until every file has its thumbnail.
            for folder in ("Films", "Series", "Holiday 2024"):
                wait = f"/api/folders/1/items?path={folder.replace(' ', '%20')}"
                for _ in range(300):
                    items = json.loads(live.request(wait).body)["items"]
                    if all(i["thumbnail_url"] for i in items):
                        break
                    subprocess.run(["sleep", "0.2"], check=True)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                phone = browser.new_context(**PHONE)
                page = phone.new_page()
                page.goto(f"{live.url}/?key={live.key}")
                # Watch two films part-way so "Continue watching" has something to show.
                for relpath, at in (
                    ("Films/Triangles.Forever.2021.1080p.WEB-DL.x264.mp4", 11),
                    ("Series/Life.s01e01.Beginnings.mp4", 19),
                ):
                    page.goto(f"{live.url}/watch/1/{relpath}")
                    page.evaluate(
                        "() => { const v = document.getElementById('video'); v.muted = true;"
                        f" v.currentTime = {at}; v.play(); }}"
                    )
                    wait_until(page, f"() => document.getElementById('video').currentTime > {at + 0.5}")
                    with page.expect_response("**/api/progress"):
                        page.evaluate("() => document.getElementById('video').pause()")
                page.goto(f"{live.url}/", wait_until="networkidle")
                save_small(page.screenshot(), "phone-library.png", 585)
                page.goto(f"{live.url}/watch/1/Films/The.Long.Road.Home.2019.720p.BluRay.mp4")
                # Subtitles chosen the way a viewer chooses them: the "Sound & subtitles" sheet.
                page.click("#tracks")
                page.wait_for_timeout(400)
                save_small(page.screenshot(), "phone-tracks.png", 585)
                page.locator("#tracks-sheet input[type=radio]").last.check()
                page.click("#tracks-done")
                page.evaluate(
                    "() => { const v = document.getElementById('video'); v.muted = true;"
                    " v.currentTime = 11; v.play(); }"
                )
                wait_until(
                    page, "() => (document.getElementById('video').textTracks[0].activeCues || []).length > 0"
                )
                page.wait_for_timeout(500)
                save_small(page.screenshot(), "phone-player.png", 585)
                desktop = browser.new_context(viewport={"width": 1280, "height": 800})
                page = desktop.new_page()
                page.goto(f"{live.url}/?key={live.key}", wait_until="networkidle")
                wait_until(
                    page,
                    "() => [...document.querySelectorAll('.thumb img')].slice(0, 8).every(i => i.complete)",
                )
                save_small(page.screenshot(), "desktop-library.png", 1280)
                browser.close()
        finally:
            live.stop()


if __name__ == "__main__":
    main()
