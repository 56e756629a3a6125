"""A phone's fresh range request while one address holds 2,000 half-sent requests (slowloris), next to nginx.

    .venv/bin/python bench/bench_hostile_clients.py              # about 1 minute
    .venv/bin/python bench/bench_hostile_clients.py --connections 500 --seconds 5

For each server (a real `couchcast serve` process, and nginx as a yardstick, started as in
bench_streaming.py with its usual 1,024 worker connections and default 60 s header timeout):
1. 127.0.0.1 opens N connections and sends each half a request head, then holds them all open;
2. for `--seconds`, every 0.25 s a "phone" at 127.0.0.2 opens a fresh connection and asks for
   `bytes=0-1023`; the time to the whole answer is recorded, or "no answer" after 5 s;
3. the half-open connections are left alone 20 s more, and the bench counts how many of them the
   server has closed (a 408, a 503 or a plain close all count).

Goal: p50 and max of the phone's answer time < 1 s with 2,000 half-open connections.
All traffic is to 127.0.0.1 (the whole 127.0.0.0/8 is this machine).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from bench_streaming import ensure_nginx, start_nginx  # noqa: E402

from tests.helpers import make_sparse, start_server  # noqa: E402

HOSTILE_ADDRESS = "127.0.0.1"
PHONE_ADDRESS = "127.0.0.2"
PROBE_EVERY = 0.25
NO_ANSWER_AFTER = 5.0
AFTERWARDS = 20.0
FILE_NAME = "clip.mp4"
HALF_A_HEAD = b"GET /" + FILE_NAME.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: by"


def half_open(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.settimeout(NO_ANSWER_AFTER)
        client.bind((HOSTILE_ADDRESS, 0))
        try:
            client.connect(("127.0.0.1", port))
            client.sendall(HALF_A_HEAD)
        except OSError:
            pass  # refused or turned away: it counts as closed below
        clients.append(client)
    return clients


def phone_request(port: int, path: str, headers: str) -> float | None:
    """Seconds until the whole 1 KiB answer arrived on a fresh connection, or None (no answer in time)."""
    started = time.perf_counter()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-1023\r\n{headers}Connection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(
            ("127.0.0.1", port), timeout=NO_ANSWER_AFTER, source_address=(PHONE_ADDRESS, 0)
        ) as phone:
            phone.sendall(request)
            received = b""
            while chunk := phone.recv(65536):
                received += chunk
                if time.perf_counter() - started > NO_ANSWER_AFTER:
                    return None
    except OSError:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 206") or len(body) != 1024:
        return None
    return time.perf_counter() - started


def closed_by_server(clients: list[socket.socket]) -> int:
    """How many of these connections the server has answered (408, 503) or closed."""
    closed = 0
    for client in clients:
        client.setblocking(False)
        try:
            client.recv(1, socket.MSG_PEEK)
            closed += 1  # an answer, or the end of the stream
        except BlockingIOError:
            pass  # still open, nothing said
        except OSError:
            closed += 1  # reset, or never connected
    return closed


def measure(name: str, port: int, path: str, headers: str, connections: int, seconds: float) -> dict:
    print(f"{name}: opening {connections} half-open connections from {HOSTILE_ADDRESS}…", flush=True)
    hostile = half_open(port, connections)
    try:
        times: list[float] = []
        unanswered = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            took = phone_request(port, path, headers)
            if took is None:
                unanswered += 1
            else:
                times.append(took)
            time.sleep(PROBE_EVERY)
        time.sleep(AFTERWARDS)
        closed = closed_by_server(hostile)
    finally:
        for client in hostile:
            client.close()
    return {"times": times, "unanswered": unanswered, "closed": closed, "connections": connections}


def report(name: str, result: dict) -> None:
    times = result["times"]
    total = len(times) + result["unanswered"]
    if times:
        answered = f"p50 {statistics.median(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms"
    else:
        answered = "never answered"
    print(
        f"  {name:<10} phone answered {len(times):3d}/{total:<3d}  {answered}   "
        f"half-open closed by the server after {AFTERWARDS:.0f} s: {result['closed']}/{result['connections']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-nginx", action="store_true", help="measure Couchcast only")
    options = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = options.connections + 500
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    work = Path(tempfile.mkdtemp(prefix="couchcast-bench-hostile-"))
    results = {}
    server = nginx = None
    try:
        media = work / "media"
        make_sparse(media / FILE_NAME, 8 * 1024 * 1024)
        server = start_server([media], work / "home")
        results["couchcast"] = measure(
            "couchcast",
            server.port,
            f"/media/1/{FILE_NAME}",
            f"Cookie: couchcast_key={server.key}\r\n",
            options.connections,
            options.seconds,
        )
        server.stop()
        server = None
        if not options.no_nginx:
            nginx, nginx_port = start_nginx(ensure_nginx(), work / "nginx", media)
            results["nginx"] = measure(
                "nginx", nginx_port, f"/{FILE_NAME}", "", options.connections, options.seconds
            )
    finally:
        if server is not None:
            server.stop()
        if nginx is not None:
            nginx.terminate()
            with contextlib.suppress(Exception):
                nginx.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nA fresh bytes=0-1023 request from {PHONE_ADDRESS} every {PROBE_EVERY} s "
        f"for {options.seconds:.0f} s, while {HOSTILE_ADDRESS} holds {options.connections} "
        "half-sent requests (goal: max < 1 s):"
    )
    for name, result in results.items():
        report(name, result)


if __name__ == "__main__":
    main()
