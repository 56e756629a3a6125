"""Take the README's desktop screenshots: the tray menu (Xvfb + trayer) and the phone-link page (Chromium).

Run from the project root: `.venv/bin/python scripts/desktop_screenshots.py`. Writes docs/screenshots/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import PROJECT_ROOT, free_port, wait_for_port  # noqa: E402
from tests.xsession import TRAY_AREA, changed_box, start_session  # noqa: E402

OUT = PROJECT_ROOT / "docs" / "screenshots"
KEY = "screenshot-key-0123456789abcdef"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="couchcast-shots-"))
    port = free_port()
    (home / "config").mkdir()
    videos = home / "Videos"
    videos.mkdir()
    config = {"port": port, "access_key": KEY, "folders": [str(videos)]}
    (home / "config" / "config.json").write_text(json.dumps(config))
    session = start_session()
    app = None
    try:
        before = session.screenshot(home / "before.png", TRAY_AREA)
        env = {**session.env, "COUCHCAST_HOME": str(home), "BROWSER": "true"}
        app = subprocess.Popen([sys.executable, "-m", "desktop"], cwd=PROJECT_ROOT, env=env)
        wait_for_port(port, process=app)
        box = None
        while box is None:
            time.sleep(0.2)
            box = changed_box(before, session.screenshot(home / "tray.png", TRAY_AREA))
        x = TRAY_AREA[0] + (box[0] + box[2]) // 2
        y = TRAY_AREA[1] + (box[1] + box[3]) // 2
        session.xdotool("mousemove", str(x), str(y), "click", "3")
        time.sleep(0.8)
        session.xdotool("key", "Down", "Down", "Down", "Down")  # highlight "Shared folders"
        time.sleep(0.8)
        shot = session.screenshot(home / "menu.png")
        shot.crop((TRAY_AREA[2] - 420, 0, TRAY_AREA[2], 230)).save(OUT / "tray-menu.png", optimize=True)
        session.xdotool("key", "Escape", "Escape")

        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 720, "height": 960})
            page.goto(f"http://127.0.0.1:{port}/pair?key={KEY}")
            page.screenshot(path=str(OUT / "phone-link-page.png"), full_page=True)
            browser.close()
    finally:
        if app is not None:
            app.terminate()
            app.wait(10)
        session.stop()
        shutil.rmtree(home, ignore_errors=True)
    for path in (OUT / "tray-menu.png", OUT / "phone-link-page.png"):
        # A 64-colour palette keeps these flat UI pictures small in the repository.
        Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)
        print(path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
