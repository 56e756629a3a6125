"""DLNA figures: how soon a TV can find the server, and how fast it pages through a large folder.

    .venv/bin/python bench/bench_dlna.py               # about 30 s; root (or unprivileged user
    .venv/bin/python bench/bench_dlna.py --files 5000  # namespaces) for a network namespace

It re-runs itself inside a network namespace of its own (`unshare -n`, loopback only, multicast
routed to lo): no SSDP packet reaches the real network. Then:
1. `couchcast serve --dlna` starts over a folder of N files (1-byte .mkv: listing, not probing);
   from the moment the process is started, an M-SEARCH (MX: 1) goes out every 50 ms, and the times
   of the first NOTIFY alive and of the first answer are printed (the answer waits a random part of
   MX, as the protocol asks, so it is later than the server is ready by up to 1 s);
2. Browse of that folder in pages of 100 (the first page reads the folder from disk and indexes it,
   the next ones reuse the listing), then with RequestedCount 0 (answered with at most 500).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import free_port, wait_for_port  # noqa: E402

INSIDE = "COUCHCAST_BENCH_NAMESPACE"
CD = "urn:schemas-upnp-org:service:ContentDirectory:1"


def browse_body(object_id: str, start: int, count: int) -> bytes:
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<u:Browse xmlns:u="{CD}"><ObjectID>{object_id}</ObjectID>'
        "<BrowseFlag>BrowseDirectChildren</BrowseFlag>"
        f"<Filter>*</Filter><StartingIndex>{start}</StartingIndex><RequestedCount>{count}</RequestedCount>"
        "<SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>"
    ).encode()


def browse(port: int, object_id: str, start: int, count: int) -> tuple[float, int, int, int]:
    """(seconds, bytes, NumberReturned, TotalMatches) of one Browse on a fresh connection."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/dlna/control/ContentDirectory",
        body=browse_body(object_id, start, count),
        headers={"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": f'"{CD}#Browse"'},
    )
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - began
    connection.close()
    assert response.status == 200, body[:500]
    returned = int(re.search(rb"<NumberReturned>(\d+)<", body)[1])
    total = int(re.search(rb"<TotalMatches>(\d+)<", body)[1])
    return elapsed, len(body), returned, total


def first_ssdp(started: float, timeout: float = 30.0) -> tuple[float | None, float | None]:
    """Seconds from `started` to the first NOTIFY alive and to the first M-SEARCH answer."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("", 1900))
    listener.setsockopt(
        socket.IPPROTO_IP,
        socket.IP_ADD_MEMBERSHIP,
        socket.inet_aton("239.255.255.250") + socket.inet_aton("127.0.0.1"),
    )
    searcher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    searcher.bind(("127.0.0.1", 0))
    search = (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
        b"ST: urn:schemas-upnp-org:device:MediaServer:1\r\n\r\n"
    )
    notify = answer = None
    next_search = 0.0
    deadline = time.monotonic() + timeout
    while (notify is None or answer is None) and time.monotonic() < deadline:
        if time.monotonic() >= next_search and answer is None:
            searcher.sendto(search, ("239.255.255.250", 1900))
            next_search = time.monotonic() + 0.05
        readable, _, _ = select.select([listener, searcher], [], [], 0.05)
        for sock in readable:
            data = sock.recv(8192)
            now = time.monotonic() - started
            if sock is listener and notify is None and data.startswith(b"NOTIFY") and b"ssdp:alive" in data:
                notify = now
            if sock is searcher and answer is None and data.startswith(b"HTTP/1.1 200"):
                answer = now
    listener.close()
    searcher.close()
    return notify, answer


def inside(files: int) -> None:
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "set", "lo", "multicast", "on"],
        ["ip", "route", "add", "239.0.0.0/8", "dev", "lo"],
    ):
        subprocess.run(command, check=True)
    work = Path(tempfile.mkdtemp(prefix="bench-dlna-"))
    try:
        folder = work / "media" / "Big"
        folder.mkdir(parents=True)
        for number in range(files):
            (folder / f"episode {number}.mkv").write_bytes(b"\0")
        port = free_port()
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "desktop", "serve", str(work / "media"), "--host", "127.0.0.1",
             "--port", str(port), "--access-key", "bench-key-0123456789", "--dlna"],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "COUCHCAST_HOME": str(work / "home")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            notify, answer = first_ssdp(started)
            wait_for_port(port, process=process)
            print(
                f"start -> first NOTIFY alive: {notify:.2f} s; first M-SEARCH answer (MX 1): {answer:.2f} s"
            )
            pages = []
            for start in range(0, files, 100):
                pages.append(browse(port, "c1:Big", start, 100))
            assert sum(p[2] for p in pages) == files and pages[0][3] == files
            first, rest = pages[0][0], [p[0] for p in pages[1:]]
            print(
                f"Browse of {files} items in pages of 100: first page {first * 1000:.0f} ms "
                f"(reads and indexes the folder), next {len(rest)} pages median "
                f"{statistics.median(rest) * 1000:.1f} ms, max {max(rest) * 1000:.1f} ms; "
                f"total {sum(p[0] for p in pages):.2f} s, {sum(p[1] for p in pages) / 1e6:.1f} MB of SOAP"
            )
            again = browse(port, "c1:Big", 0, 100)
            everything = browse(port, "c1:Big", 0, 0)
            print(f"first page again (folder read again): {again[0] * 1000:.0f} ms")
            print(
                f"RequestedCount 0: {everything[2]} items in {everything[0] * 1000:.0f} ms, "
                f"{everything[1] / 1e6:.2f} MB"
            )
        finally:
            process.terminate()
            process.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    if os.environ.get(INSIDE) == "1":
        inside(args.files)
        return 0
    # Root: a plain new network namespace; anyone else: a user namespace too (`-r`).
    flags = ["-n"] if os.geteuid() == 0 else ["-rn"]
    return subprocess.run(
        ["unshare", *flags, sys.executable, __file__, "--files", str(args.files)],
        env={**os.environ, INSIDE: "1"},
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
