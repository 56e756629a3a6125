"""One Couchcast per user: the OS lock, the hand-over to the running one, and locks left by a crash."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading

import pytest

from desktop.instance import SingleInstance, ask_running_to_open
from tests.helpers import PROJECT_ROOT

HOLD_LOCK = """
import sys, time
from desktop.instance import SingleInstance
single = SingleInstance(sys.argv[1])
assert single.acquire()
single.listen(lambda: None)
print("locked", flush=True)
time.sleep(60)
"""


def test_second_instance_cannot_take_the_lock(tmp_path):
    first, second = SingleInstance(tmp_path), SingleInstance(tmp_path)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()


def test_lock_is_free_again_after_release(tmp_path):
    first = SingleInstance(tmp_path)
    assert first.acquire()
    first.release()
    second = SingleInstance(tmp_path)
    assert second.acquire()
    second.release()


@pytest.fixture
def running(tmp_path):
    """A Couchcast holding the lock and listening; `.asked` is set when a second launch asks it."""
    single = SingleInstance(tmp_path)
    assert single.acquire()
    single.asked = threading.Event()
    single.listen(single.asked.set)
    yield single
    single.release()


def test_second_launch_asks_the_running_one_to_open_the_browser(tmp_path, running):
    assert ask_running_to_open(tmp_path, wait=5)
    assert running.asked.wait(5)


def test_request_without_the_token_is_ignored(running):
    port = json.loads(running.info_path.read_text())["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"guessed-token open\n")
        assert connection.recv(16) == b""
    assert not running.asked.is_set()


def test_lock_left_by_a_killed_instance_does_not_block_the_next_start(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert not SingleInstance(tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
    # The dead one's info file is still there: nobody answers it, and the lock is free.
    assert not ask_running_to_open(tmp_path, wait=0.5)
    next_start = SingleInstance(tmp_path)
    assert next_start.acquire()
    next_start.release()
