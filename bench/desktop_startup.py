"""How fast the desktop app starts, hands over to a running one, and stops (median of N runs).

Under Xvfb with trayer as tray host, like tests/test_desktop_gui.py. Prints, per run and as medians:
launch -> first HTTP answer, -> browser asked to open, -> icon visible in the tray; a second launch's
run time; SIGTERM -> exit. Run: `.venv/bin/python bench/desktop_startup.py [RUNS]` from the project root.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import PROJECT_ROOT, free_port  # noqa: E402
from tests.xsession import TRAY_AREA, changed_box, start_session  # noqa: E402

KEY = "bench-key-0123456789abcdef"
LIMIT = 30.0


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def one_run(session) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="couchcast-bench-"))
    try:
        port = free_port()
        (home / "config").mkdir()
        (home / "config" / "config.json").write_text(json.dumps({"port": port, "access_key": KEY}))
        urls = home / "urls.txt"
        browser = home / "browser.sh"
        browser.write_text(f'#!/bin/sh\necho "$1" >> "{urls}"\n')
        browser.chmod(0o755)
        env = {**session.env, "COUCHCAST_HOME": str(home), "BROWSER": str(browser)}
        before = session.screenshot(home / "before.png", TRAY_AREA)

        start = time.monotonic()
        app = subprocess.Popen([sys.executable, "-m", "desktop"], cwd=PROJECT_ROOT, env=env)
        marks: dict[str, float] = {}
        while len(marks) < 3 and time.monotonic() - start < LIMIT:
            now = time.monotonic() - start
            if "http" not in marks and listening(port):
                marks["http"] = now
            if "browser" not in marks and urls.exists():
                marks["browser"] = now
            if "icon" not in marks and changed_box(before, session.screenshot(home / "t.png", TRAY_AREA)):
                marks["icon"] = time.monotonic() - start
            time.sleep(0.02)

        second_start = time.monotonic()
        command = [sys.executable, "-m", "desktop"]
        subprocess.run(command, cwd=PROJECT_ROOT, env=env, timeout=LIMIT, check=True)
        marks["second launch"] = time.monotonic() - second_start

        stop_start = time.monotonic()
        app.send_signal(signal.SIGTERM)
        code = app.wait(LIMIT)
        marks["SIGTERM to exit"] = time.monotonic() - stop_start
        if code != 0:
            raise SystemExit(f"exit code {code} after SIGTERM")
        return marks
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    session = start_session()
    try:
        results = []
        for number in range(1, runs + 1):
            marks = one_run(session)
            results.append(marks)
            print(f"run {number}: " + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()), flush=True)
    finally:
        session.stop()
    print(f"median of {runs}:")
    for key in results[0]:
        print(f"  {key:16} {statistics.median(r[key] for r in results):.2f} s")


if __name__ == "__main__":
    main()
