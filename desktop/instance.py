"""One Couchcast per user: an OS file lock, plus a local control socket to reach the running one.

The lock is an OS lock (`flock` / `msvcrt.locking`) on a file in the data dir: the kernel drops it
when the process dies, even on SIGKILL, so a crash never leaves a lock that blocks the next start.
The running instance listens on a loopback port and writes that port and a random token to
`instance.json`; a second launch sends the token and "open", the running one opens the browser on
its library, and the second launch exits. The lock file itself is never deleted: removing it while
another launch opens it would let two instances each lock a different file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from server.atomic import write_atomically

log = logging.getLogger(__name__)

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"
OPEN_COMMAND = "open"
REPLY_OK = "ok"
# A second launch may come while the first is still starting (lock taken, socket not yet written).
ANSWER_WAIT = 10.0


class SingleInstance:
    """Hold the lock with `acquire()`; while held, `listen()` answers a second launch."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self._lock_file = None
        self._listener: socket.socket | None = None
        self._token = secrets.token_urlsafe(16)

    @property
    def info_path(self) -> Path:
        return self.data_dir / INFO_NAME

    def acquire(self) -> bool:
        """Take the lock; False when another live Couchcast holds it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.data_dir / LOCK_NAME, "a+b")  # noqa: SIM115 (held open while we run)
        try:
            _lock(lock_file)
        except OSError:
            lock_file.close()
            return False
        self._lock_file = lock_file
        return True

    def listen(self, on_open: Callable[[], None]) -> None:
        """Answer "open" requests from later launches by calling `on_open` (on a background thread)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        self._listener = listener
        info = {"pid": os.getpid(), "port": listener.getsockname()[1], "token": self._token}
        write_atomically(self.info_path, json.dumps(info))
        threading.Thread(
            target=self._serve, args=(listener, on_open), name="couchcast-instance", daemon=True
        ).start()

    def _serve(self, listener: socket.socket, on_open: Callable[[], None]) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed by release()
            with connection:
                connection.settimeout(2)
                try:
                    request = connection.recv(256).decode("ascii", "replace").split()
                except OSError:
                    continue
                if request == [self._token, OPEN_COMMAND]:
                    connection.sendall(REPLY_OK.encode())
                    try:
                        on_open()
                    except Exception:
                        log.exception("Could not open the browser for a second launch")

    def release(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                self.info_path.unlink()
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file drops the OS lock
            self._lock_file = None


def ask_running_to_open(data_dir: Path, wait: float = ANSWER_WAIT) -> bool:
    """Ask the Couchcast holding the lock to open the browser; False if it does not answer in time."""
    deadline = time.monotonic() + wait
    while True:
        try:
            info = json.loads((Path(data_dir) / INFO_NAME).read_text(encoding="utf-8"))
            with socket.create_connection(("127.0.0.1", int(info["port"])), timeout=2) as connection:
                connection.sendall(f"{info['token']} {OPEN_COMMAND}\n".encode())
                if connection.recv(16).decode("ascii", "replace") == REPLY_OK:
                    return True
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not written yet, or left by a crashed instance: retry until the deadline
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


if sys.platform == "win32":
    import msvcrt

    def _lock(lock_file) -> None:
        lock_file.seek(0)
        msvcrt.locking(lock_file.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(lock_file) -> None:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
