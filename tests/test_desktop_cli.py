"""`couchcast` with no display: one clear sentence, then the headless server; never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT, LiveServer, free_port, wait_for_port

KEY = "cli-test-key-0123456789abcdef"


def start_app(home, **env_changes) -> LiveServer:
    port = free_port()
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.json").write_text(json.dumps({"port": port, "access_key": KEY}))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    env.update(COUCHCAST_HOME=str(home), **env_changes)
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, process=process)
    except Exception:
        process.kill()
        pytest.fail(process.communicate()[0])
    return LiveServer(process, port, KEY, home)


def stop(app: LiveServer) -> tuple[int, str]:
    app.process.send_signal(signal.SIGTERM)
    output = app.process.communicate(timeout=10)[0]
    return app.process.returncode, output


def test_without_a_display_it_says_so_and_serves_headless(tmp_path):
    app = start_app(tmp_path)
    assert app.request("/api/folders").status == 200
    returncode, output = stop(app)
    assert returncode == 0
    assert "No display was found" in output and "Traceback" not in output


def test_unreachable_display_falls_back_to_serving_without_a_traceback(tmp_path):
    app = start_app(tmp_path, DISPLAY=":4999")  # nothing listens there
    assert app.request("/api/folders").status == 200
    returncode, output = stop(app)
    assert returncode == 0
    assert "No tray backend could be loaded" in output and "Traceback" not in output


def test_start_up_is_logged_to_the_rotating_log_file(tmp_path):
    returncode, _ = stop(start_app(tmp_path))
    log = (tmp_path / "logs" / "couchcast.log").read_text(encoding="utf-8")
    assert returncode == 0
    assert "Couchcast starting" in log and "No display was found" in log
