"""`couchcast serve` as a person runs it: what it prints, how it stops, what it does when things are wrong."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import segno

from tests.helpers import PROJECT_ROOT, file_modes_enforced, free_port, make_sparse, make_video, wait_for_port

KEY = "cli-test-key-0123456789"
# The exit must come well within this; a hang is a failure, not a slow pass.
STOP_DEADLINE = 5


@dataclass
class Run:
    process: subprocess.Popen
    out: Path
    err: Path
    home: Path

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stdout():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{self.stdout()}\n{self.stderr()}")
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def saved_config(self) -> dict:
        return json.loads((self.home / "config" / "config.json").read_text())


def serve(home: Path, *args: str, prefix: tuple[str, ...] = ()) -> Run:
    home.mkdir(parents=True, exist_ok=True)
    out, err = home / "stdout.txt", home / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "desktop", "serve", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, "COUCHCAST_HOME": str(home), "PYTHONIOENCODING": "utf-8"},
            stdout=stdout,
            stderr=stderr,
        )
    return Run(process, out, err, home)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(
        urllib.request.Request(url, headers={"Authorization": f"Bearer {KEY}"})
    ) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-videos")
    make_video(root / "clip.mp4", 1)
    make_sparse(root / "long.mp4", 128 * 1024 * 1024)
    return root


@pytest.fixture(scope="module")
def interrupted(videos, tmp_path_factory):
    """One run on a loopback address phones-style (127.0.0.2), a missing folder named, then Ctrl+C."""
    port = free_port()
    missing = tmp_path_factory.mktemp("gone") / "Unplugged drive"
    run = serve(
        tmp_path_factory.mktemp("cli-home"),
        str(videos),
        str(missing),
        "--host",
        "127.0.0.2",
        "--port",
        str(port),
        "--access-key",
        KEY,
    )
    try:
        run.wait_for_output("Press Ctrl+C")
        folders = get_json(f"http://127.0.0.2:{port}/api/folders")["folders"]
    finally:
        returncode = run.stop(signal.SIGINT)
    return {"run": run, "port": port, "missing": missing, "folders": folders, "returncode": returncode}


def test_serve_prints_the_local_url_with_the_key(interrupted):
    assert f"Local:  http://127.0.0.2:{interrupted['port']}/?key={KEY}" in interrupted["run"].stdout()


def test_serve_prints_the_phone_url_with_the_key(interrupted):
    assert f"Phone:  http://127.0.0.2:{interrupted['port']}/?key={KEY}" in interrupted["run"].stdout()


def test_serve_prints_the_phone_url_as_a_qr_code(interrupted):
    expected = io.StringIO()
    segno.make(f"http://127.0.0.2:{interrupted['port']}/?key={KEY}", error="m").terminal(
        expected, compact=True
    )
    assert expected.getvalue() in interrupted["run"].stdout()


def test_serve_exits_0_on_sigint(interrupted):
    assert interrupted["returncode"] == 0


def test_serve_names_a_missing_folder(interrupted):
    assert f"Folder {interrupted['missing']} does not exist" in interrupted["run"].stderr()


def test_serve_still_serves_the_other_folders(interrupted, videos):
    assert [f["name"] for f in interrupted["folders"]] == [videos.name]


def test_folders_given_on_the_command_line_are_not_saved(interrupted):
    assert interrupted["run"].saved_config()["folders"] == []


def test_serve_prints_no_traceback(interrupted):
    assert "Traceback" not in interrupted["run"].stdout() + interrupted["run"].stderr()


def test_serve_exits_0_on_sigterm_while_a_video_streams(videos, tmp_path):
    port = free_port()
    run = serve(
        tmp_path / "home", str(videos), "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY
    )
    try:
        run.wait_for_output("Press Ctrl+C")
        viewer = socket.create_connection(("127.0.0.1", port))
        viewer.sendall(
            f"GET /media/1/long.mp4 HTTP/1.1\r\nHost: x\r\nCookie: couchcast_key={KEY}\r\n\r\n".encode()
        )
        assert viewer.recv(65536)
    finally:
        returncode = run.stop(signal.SIGTERM)
    viewer.close()
    assert returncode == 0


def test_serve_keeps_serving_when_whoever_read_its_output_has_gone(videos, tmp_path):
    # `couchcast serve | head -1`: head exits, and every later print meets a closed pipe.
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    with open(home / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "desktop", "serve", str(videos), "--host", "127.0.0.1"]
            + ["--port", str(port), "--access-key", KEY],
            cwd=PROJECT_ROOT,
            env={**os.environ, "COUCHCAST_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    process.stdout.close()  # the reader is gone before the first line
    run = Run(process, home / "stdout.txt", home / "stderr.txt", home)
    try:
        wait_for_port(port, process=process)
        assert get_json(f"http://127.0.0.1:{port}/api/folders")["folders"]
    finally:
        returncode = run.stop(signal.SIGTERM)  # "Stopping…" meets the closed pipe too
    assert returncode == 0
    assert "Traceback" not in run.stderr()
    logs = list((home / "logs").rglob("*.log"))
    assert logs and not any("Traceback" in log.read_text() for log in logs)


def test_a_damaged_database_is_kept_aside_and_serve_starts_with_a_new_one(videos, tmp_path):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    damage = os.urandom(64 * 1024)  # what a disk error or a half-copied file leaves
    (home / "data" / "couchcast.sqlite3").write_bytes(damage)
    port = free_port()
    run = serve(home, str(videos), "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY)
    try:
        run.wait_for_output("Press Ctrl+C")
        listed = get_json(f"http://127.0.0.1:{port}/api/folders/1/items?path=")["items"]
    finally:
        returncode = run.stop()
    assert returncode == 0
    assert {item["name"] for item in listed} == {"clip.mp4", "long.mp4"}  # the index was rebuilt
    (kept,) = (home / "data").glob("couchcast.sqlite3.corrupt-*")
    assert kept.read_bytes() == damage
    assert "The library database was damaged" in run.stderr() and str(kept) in run.stderr()
    assert "Traceback" not in run.stderr() + run.stdout()


def test_serve_on_a_taken_port_it_was_asked_for_exits_1_with_a_clear_message(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        run = serve(tmp_path / "home", "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY)
        returncode = run.process.wait(30)
    assert returncode == 1
    assert f"Port {port} is already in use" in run.stderr()
    assert "Traceback" not in run.stdout() + run.stderr()


def two_free_ports_in_a_row() -> int:
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free ports in a row")


def test_serve_without_port_moves_to_the_next_free_one_and_saves_it(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    with socket.socket() as other_program:
        saved = two_free_ports_in_a_row()
        other_program.bind(("127.0.0.1", saved))
        other_program.listen()
        (home / "config" / "config.json").write_text(json.dumps({"port": saved, "access_key": KEY}))
        run = serve(home, "--host", "127.0.0.1")
        try:
            run.wait_for_output("Press Ctrl+C")
            wait_for_port(saved + 1)
        finally:
            run.stop()
    assert f"Port {saved} is taken; using {saved + 1}" in run.stdout()
    assert run.saved_config()["port"] == saved + 1


def test_saved_and_command_line_folders_are_both_served(videos, tmp_path):
    saved_folder = tmp_path / "Saved films"
    saved_folder.mkdir()
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.json").write_text(
        json.dumps({"folders": [str(saved_folder)], "access_key": KEY})
    )
    port = free_port()
    run = serve(home, str(videos), "--host", "127.0.0.1", "--port", str(port))
    try:
        run.wait_for_output("Press Ctrl+C")
        names = [f["name"] for f in get_json(f"http://127.0.0.1:{port}/api/folders")["folders"]]
    finally:
        run.stop()
    assert names == ["Saved films", videos.name]
    assert run.saved_config()["folders"] == [str(saved_folder)]


def test_serve_names_an_unreadable_folder_and_serves_the_others(videos, tmp_path):
    locked = tmp_path / "Locked"
    locked.mkdir()
    locked.chmod(0)
    port = free_port()
    run = serve(
        tmp_path / "home",
        str(locked),
        str(videos),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--access-key",
        KEY,
        prefix=file_modes_enforced(),
    )
    try:
        run.wait_for_output("Press Ctrl+C")
        names = [f["name"] for f in get_json(f"http://127.0.0.1:{port}/api/folders")["folders"]]
    finally:
        run.stop()
        locked.chmod(0o755)
    assert f"Folder {locked} is not readable (permission denied)" in run.stderr()
    assert names == [videos.name]


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_serve_refuses_a_port_that_is_not_a_port(tmp_path, port):
    run = serve(tmp_path / "home", "--host", "127.0.0.1", "--port", port)
    assert run.process.wait(30) == 2
    assert f"'{port}' is not a port number" in run.stderr()
    assert "Traceback" not in run.stderr()


@pytest.mark.parametrize("key", ["ключ", "two words", "semi;colon", ""])
def test_serve_refuses_an_access_key_a_link_cannot_carry(tmp_path, key):
    run = serve(tmp_path / "home", "--host", "127.0.0.1", "--port", "0", "--access-key", key)
    assert run.process.wait(30) == 2
    assert "access key" in run.stderr()
    assert "Traceback" not in run.stderr()


def test_serve_on_a_host_that_is_not_an_address_exits_1_with_a_clear_message(tmp_path):
    run = serve(tmp_path / "home", "--host", "not a host", "--port", "0")
    assert run.process.wait(30) == 1
    assert "Could not listen on not a host" in run.stderr()
    assert "Traceback" not in run.stderr()
