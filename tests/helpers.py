"""Real things for tests: videos made by ffmpeg, a Couchcast server process on a real port."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from server.ffmpeg import ffmpeg_binary

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "test-access-key-0123456789"
# A phone in Playwright: an iPhone-sized touch screen.
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def make_video(
    path: Path,
    seconds: float = 10,
    *,
    size: str = "320x240",
    video: list[str] | None = None,
    audio: list[str] | None = None,
    extra: list[str] | None = None,
) -> Path:
    """A real video: ffmpeg's test pattern with a running clock and a tone (H.264/AAC MP4 by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    video = video if video is not None else ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    audio = audio if audio is not None else ["-c:a", "aac"]
    subprocess.run(
        [
            ffmpeg_binary() or "ffmpeg",
            "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            *video, *audio, *(extra or []),
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def make_sparse(path: Path, size: int) -> Path:
    """A large media-named file that costs no disk (zeros): for streams that must outlast socket buffers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as sparse:
        sparse.truncate(size)
    return path


def file_modes_enforced() -> tuple[str, ...]:
    """A command prefix under which file modes apply: root reads everything, so root runs the command
    without the two capabilities that bypass them (setpriv, util-linux); anyone else needs nothing."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's right to read any file")
    drop = "-dac_override,-dac_read_search"
    return ("setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}")


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out (bind to 0, or the local end
# of any outgoing connection, another test's included) can be taken again before the server binds it.
# Seen in CI: the app found "its" port taken and moved to the next one.
_PORTS = random.Random()


def free_port() -> int:
    """A port nothing listens on now, from a range the kernel never picks by itself."""
    for _ in range(200):
        port = _PORTS.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def keyed_headers(headers: dict[str, str] | None, key: str | None) -> dict[str, str]:
    """`headers`, plus the key as the cookie a phone keeps (unless they carry a cookie, or no key)."""
    all_headers = dict(headers or {})
    if key:
        all_headers.setdefault("Cookie", f"couchcast_key={key}")
    return all_headers


@dataclass
class LiveServer:
    process: subprocess.Popen
    port: int
    key: str
    home: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        *,
        with_key: bool = True,
        body: bytes | None = None,
    ) -> Response:
        """One HTTP request; the key goes as the cookie a phone would have (unless with_key=False)."""
        all_headers = keyed_headers(headers, self.key if with_key else None)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def stop(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_server(
    folders: list[Path],
    home: Path,
    *,
    port: int | None = None,
    key: str = ACCESS_KEY,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    prefix: tuple[str, ...] = (),
) -> LiveServer:
    """`couchcast serve` in its own process with its own COUCHCAST_HOME, once it listens; `prefix` is a
    command it runs under (one that ends by exec'ing it, so the process is the server's)."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            *prefix, sys.executable, "-m", "desktop", "serve", *map(str, folders),
            "--host", "127.0.0.1", "--port", str(port), "--access-key", key, *(extra_args or []),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "COUCHCAST_HOME": str(home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
    except Exception:
        process.kill()
        print(process.stdout.read())
        raise
    return LiveServer(process, port, key, home)


def wait_for(condition, timeout: float = 30.0):
    """Poll until condition() is truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition never became true"
        time.sleep(0.2)


def playlist_uris(playlist: bytes) -> list[str]:
    """The segment URIs of an HLS playlist body, in order."""
    return [line for line in playlist.decode().splitlines() if line and not line.startswith("#")]


def csrf_for(server: LiveServer, path: str) -> tuple[str, str]:
    """(cookie header, X-CSRFToken) as the player page gives them to its script."""
    page = server.request(f"/watch/1/{path}")
    cookie = re.search(r"csrftoken=([^;]+)", page.header("Set-Cookie") or "").group(1)
    blob = re.search(rb'<script id="player-data" type="application/json">(.*?)</script>', page.body, re.S)
    token = json.loads(blob.group(1))["csrf_token"]
    return f"couchcast_key={server.key}; csrftoken={cookie}", token


def items(server: LiveServer, folder: str = "") -> dict[str, dict]:
    """The API items of one folder of the first share, keyed by path."""
    response = server.request(f"/api/folders/1/items?path={quote(folder)}")
    assert response.status == 200, response.body
    return {item["path"]: item for item in json.loads(response.body)["items"]}


def described(server: LiveServer, path: str) -> dict:
    """A file's API item once ffmpeg has looked at it (duration and thumbnail in the index)."""
    folder = path.rpartition("/")[0]
    return wait_for(lambda: (item := items(server, folder).get(path)) and item["described"] and item)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (e.g. "4m") mounted on `folder` for the block; the test is skipped where
    mounting is not possible (it needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        # Lazy: a server under test may still hold a file open there.
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill_disk(folder: Path) -> Path:
    """Write `folder/filler` until the disk under it has not a byte left; delete it to make room."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full: that was the point
    finally:
        os.close(descriptor)
    return filler


def counting_ffmpeg(folder: Path) -> tuple[Path, Path]:
    """The real ffmpeg behind a script that counts its runs: (the script, the log of its runs).
    How a test sees that nothing was retried."""
    log = folder / "ffmpeg-runs.log"
    script = folder / "ffmpeg"
    script.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{ffmpeg_binary()}" "$@"\n')
    script.chmod(0o755)
    return script, log


def keyed_context(browser, server: LiveServer, **options):
    """A browser context (Playwright) holding the server's access key as the cookie a phone keeps."""
    context = browser.new_context(**options)
    context.add_cookies([{"name": "couchcast_key", "value": server.key, "url": server.url}])
    return context


@contextlib.contextmanager
def phone_page(browser, server: LiveServer, **options) -> Iterator:
    """A page on a phone-sized touch screen holding the server's key; its context closed after."""
    context = keyed_context(browser, server, **PHONE, **options)
    try:
        yield context.new_page()
    finally:
        context.close()
