"""Couchcast's streaming against nginx, same files, same run, printed side by side (issue 2).

    .venv/bin/python bench/bench_streaming.py            # the full run (about 5 minutes)
    .venv/bin/python bench/bench_streaming.py --quick    # a short run (about 1 minute), smaller file

Servers: a real `couchcast serve` process with os.sendfile (the default), another with
COUCHCAST_SENDFILE=0 (plain reads, what platforms without sendfile get), and nginx
(Debian's nginx-light, installed with apt-get if missing) as a plain process with its own config:
`sendfile on; tcp_nopush off;`, one worker, loopback only. All traffic is to 127.0.0.1.

Figures (goals from issue 2):
1. single-stream throughput of a 1 GiB file, median of 5 (>= 0.8x nginx; >= 0.95x with sendfile)
2. 32 clients reading at 2 MB/s each, all served, while a fresh `bytes=0-1023` request on a new
   connection every 0.5 s is timed (p99 <= 10 ms)
3. server RSS while 8 clients stream a 20 GiB sparse file (drift <= 5 MB, max <= 200 MB)
4. random 64 KiB ranges per second on one keep-alive connection, median of 5 (>= 1,500/s)

MB means 10**6 bytes. The 1 GiB file is random bytes written once (so it sits in the page cache
for every server alike); the 20 GiB file is sparse (no disk use). All servers read the same files.
Every server and temp file is removed at the end, on Ctrl+C or SIGTERM too.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import psutil  # noqa: E402

from tests.helpers import LiveServer, free_port, start_server, wait_for_port  # noqa: E402

GIB = 1024**3
MB = 10**6
READ_CHUNK = 1024 * 1024
BIG_NAME = "big.mp4"
HUGE_NAME = "huge.mp4"


@dataclass
class Settings:
    big_size: int
    runs_per_server: int
    latency_seconds: float
    rss_seconds: float
    ranges_seconds: float


FULL = Settings(big_size=GIB, runs_per_server=5, latency_seconds=20, rss_seconds=25, ranges_seconds=5)
QUICK = Settings(big_size=GIB // 4, runs_per_server=1, latency_seconds=5, rss_seconds=8, ranges_seconds=2)


@dataclass
class Target:
    """One server under test: where it listens, how to name a file, which process to weigh."""

    name: str
    port: int
    prefix: str
    headers: str
    pid: int

    def request(self, name: str, extra: str = "", close: bool = False) -> bytes:
        connection = "Connection: close\r\n" if close else ""
        return (
            f"GET {self.prefix}{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.headers}{extra}{connection}\r\n"
        ).encode("latin-1")

    def processes(self) -> list[psutil.Process]:
        parent = psutil.Process(self.pid)
        return [parent, *parent.children(recursive=True)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> int:
        total = 0
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total


class HTTPError(Exception):
    """A server's answer was not what the measurement needs (status, length, or an early end)."""


def read_head(sock: socket.socket, pending: bytearray) -> tuple[int, int]:
    """Read a response head from sock (leftover bytes stay in `pending`): (status, Content-Length)."""
    while b"\r\n\r\n" not in pending:
        data = sock.recv(65536)
        if not data:
            raise HTTPError("connection closed before the response head")
        pending += data
    end = pending.index(b"\r\n\r\n") + 4
    head = bytes(pending[:end]).decode("latin-1")
    del pending[:end]
    status = int(head.split(" ", 2)[1])
    length = None
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise HTTPError(f"no Content-Length in: {head!r}")
    return status, length


def read_body(sock: socket.socket, pending: bytearray, length: int, buffer: bytearray) -> int:
    """Read exactly `length` body bytes into a reused buffer (no copies kept); returns bytes read."""
    got = min(len(pending), length)
    del pending[:got]
    view = memoryview(buffer)
    while got < length:
        count = sock.recv_into(view, min(len(buffer), length - got))
        if count == 0:
            break
        got += count
    return got


def open_stream(target: Target, name: str, extra: str = "") -> tuple[socket.socket, bytearray, int]:
    """A GET on a new connection, read up to the body: (socket, body bytes already read, Content-Length)."""
    sock = socket.create_connection(("127.0.0.1", target.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(target.request(name, extra, close=True))
    pending = bytearray()
    status, length = read_head(sock, pending)
    if status not in (200, 206):
        sock.close()
        raise HTTPError(f"{target.name} answered {status} for {name}")
    return sock, pending, length


# ---------------------------------------------------------------- the four measurements


def single_stream(target: Target, size: int) -> float:
    """MB/s for one client reading the whole file as fast as it can."""
    buffer = bytearray(READ_CHUNK)
    started = time.perf_counter()
    sock, pending, length = open_stream(target, BIG_NAME)
    with sock:
        got = read_body(sock, pending, length, buffer)
    elapsed = time.perf_counter() - started
    if got != size:
        raise HTTPError(f"{target.name} sent {got} of {size} bytes")
    return got / elapsed / MB


def throttled_readers(
    target: Target, clients: int, rate: float, seconds: float, received: multiprocessing.Array
) -> None:
    """`clients` connections each read at most `rate` bytes/s for `seconds`, like phones playing videos.

    Runs in its own process on one thread (a selector loop), so the readers never hold up the
    latency probe in the parent, and 32 of them cost little CPU.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle: it ends this process
    buffer = bytearray(65536)
    view = memoryview(buffer)
    streams = []
    for index in range(clients):
        with contextlib.suppress(OSError, HTTPError):
            sock, pending, _ = open_stream(target, BIG_NAME)
            sock.setblocking(False)
            streams.append([sock, time.monotonic(), len(pending), index])
    stop_at = time.monotonic() + seconds
    while streams and (now := time.monotonic()) < stop_at:
        for stream in list(streams):
            sock, started, total, index = stream
            allowed = int(rate * (now - started)) - total
            while allowed > 0:
                try:
                    count = sock.recv_into(view, min(allowed, len(buffer)))
                except BlockingIOError:
                    break
                except OSError:
                    count = 0
                if count == 0:
                    sock.close()
                    streams.remove(stream)
                    break
                total += count
                allowed -= count
            stream[2] = total
            received[index] = total
        time.sleep(0.01)
    for sock, *_ in streams:
        sock.close()


def small_range_latency(target: Target) -> float:
    """Seconds from connect to the last byte of a fresh `bytes=0-1023` request."""
    buffer = bytearray(4096)
    started = time.perf_counter()
    sock, pending, length = open_stream(target, BIG_NAME, "Range: bytes=0-1023\r\n")
    with sock:
        got = read_body(sock, pending, length, buffer)
    elapsed = time.perf_counter() - started
    if got != 1024:
        raise HTTPError(f"{target.name} sent {got} bytes for a 1 KiB range")
    return elapsed


def many_slow_readers(target: Target, seconds: float, clients: int = 32, rate: float = 2 * MB) -> dict:
    received = multiprocessing.get_context("fork").Array("q", clients, lock=False)
    readers = multiprocessing.get_context("fork").Process(
        target=throttled_readers, args=(target, clients, rate, seconds, received), daemon=True
    )
    cpu_before, started = target.cpu_seconds(), time.monotonic()
    readers.start()
    try:
        time.sleep(0.5)  # let the readers connect first
        latencies = []
        for _ in range(int(seconds / 0.5) - 1):
            tick = time.monotonic() + 0.5
            latencies.append(small_range_latency(target))
            time.sleep(max(0.0, tick - time.monotonic()))
        readers.join(timeout=seconds + 10)
        cpu_share = (target.cpu_seconds() - cpu_before) / (time.monotonic() - started)
    finally:
        if readers.is_alive():
            readers.kill()
    # Each reader's clock starts once its response head arrived; 90% leaves room for a busy machine.
    expected = rate * seconds
    served = sum(1 for count in received if count >= 0.9 * expected)
    latencies.sort()
    return {
        "served": served,
        "clients": clients,
        "least_mb": min(received) / MB,
        "expected_mb": expected / MB,
        "samples": len(latencies),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "max": latencies[-1] * 1000,
        "cpu": cpu_share * 100,
    }


def fast_reader(target: Target, stop_at: float, received: list[int], index: int) -> None:
    buffer = bytearray(READ_CHUNK)
    view = memoryview(buffer)
    try:
        sock, _, _ = open_stream(target, HUGE_NAME)
    except (OSError, HTTPError):
        return
    with sock:
        while time.monotonic() < stop_at:
            try:
                count = sock.recv_into(view)
            except OSError:
                break
            if count == 0:
                break
            received[index] += count


def rss_while_streaming(target: Target, huge: Path, seconds: float, clients: int = 8) -> dict:
    idle = target.rss()
    stop_at = time.monotonic() + seconds
    received = [0] * clients
    readers = [
        threading.Thread(target=fast_reader, args=(target, stop_at, received, i), daemon=True)
        for i in range(clients)
    ]
    for reader in readers:
        reader.start()
    time.sleep(1.0)  # connections open, buffers allocated: the start of the steady state
    samples = []
    with open(huge, "rb") as file:
        while time.monotonic() < stop_at:
            samples.append(target.rss())
            # The zero pages the readers pull in are of no use later: drop them (the machine is shared).
            os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            time.sleep(0.25)
    for reader in readers:
        reader.join(timeout=10)
    return {
        "idle": idle / MB,
        "start": samples[0] / MB,
        "max": max(samples) / MB,
        "end": samples[-1] / MB,
        "drift": (samples[-1] - samples[0]) / MB,
        "streamed_gb": sum(received) / 10**9,
    }


def keepalive_ranges(target: Target, seconds: float, size: int, max_requests: int = 200_000) -> float:
    """Random 64 KiB ranges, one after another on one keep-alive connection: requests per second."""
    span = 65536
    randomness = random.Random(2026)
    buffer = bytearray(span)
    sock = socket.create_connection(("127.0.0.1", target.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = bytearray()
    done = 0
    with sock:
        started = time.perf_counter()
        deadline = started + seconds
        while done < max_requests and time.perf_counter() < deadline:
            start = randomness.randrange(0, size - span)
            sock.sendall(target.request(BIG_NAME, f"Range: bytes={start}-{start + span - 1}\r\n"))
            status, length = read_head(sock, pending)
            if status != 206 or length != span:
                raise HTTPError(f"{target.name} answered {status} with {length} bytes to a range")
            if read_body(sock, pending, length, buffer) != span:
                raise HTTPError(f"{target.name} sent a short range")
            done += 1
        elapsed = time.perf_counter() - started
    return done / elapsed


# ---------------------------------------------------------------- the servers


def ensure_nginx() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary:
        return binary
    print("nginx is missing: installing Debian's nginx-light with apt-get…", flush=True)
    subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "apt-install.sh"), "nginx-light"], check=True)
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise SystemExit("nginx-light installed, but no nginx binary was found")
    return binary


NGINX_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    types {{ video/mp4 mp4; }}
    default_type application/octet-stream;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {media};
    }}
}}
"""


def start_nginx(binary: str, root: Path, media: Path) -> tuple[subprocess.Popen, int]:
    root.mkdir()
    port = free_port()
    # As root, nginx's workers would switch to `nobody`; the temp dir is private to us.
    user = "user root;" if os.geteuid() == 0 else ""
    config = root / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(root=root, port=port, media=media, user=user))
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(config), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=10, process=process)
    except (RuntimeError, TimeoutError):
        process.kill()
        log = (root / "error.log").read_text(errors="replace") if (root / "error.log").exists() else ""
        raise SystemExit(f"nginx did not start:\n{log}") from None
    return process, port


def couchcast_target(name: str, server: LiveServer) -> Target:
    import json

    folders = json.loads(server.request("/api/folders").body)["folders"]
    return Target(
        name=name,
        port=server.port,
        prefix=f"/media/{folders[0]['id']}/",
        headers=f"Cookie: couchcast_key={server.key}\r\n",
        pid=server.process.pid,
    )


# ---------------------------------------------------------------- printing


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine_lines() -> list[str]:
    return [
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs (nproc), {platform.platform()}",
        f"Python {platform.python_version()}, waitress {version('waitress')}, Django {version('Django')}, "
        f"nginx {nginx_version()}",
        f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(the machine is shared: figures are noisy)",
    ]


def nginx_version() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([binary, "-v"], capture_output=True, text=True)
    return result.stderr.strip().rpartition("/")[2]


def write_noise(path: Path, size: int) -> None:
    """A file of random bytes, left in the page cache by the writing: every server reads it warm.

    (A sparse file read for the first time fills the page cache with zero pages at a few hundred
    MB/s here, which would make whichever server goes first look slow.)
    """
    block = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as file:
        for _ in range(size // len(block)):
            file.write(block)
        file.write(block[: size % len(block)])


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run: smaller file, shorter phases")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL

    # Ctrl+C and SIGTERM end the run through the cleanup below (set even where a shell had them ignored).
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    nginx_binary = ensure_nginx()
    work = Path(tempfile.mkdtemp(prefix="couchcast-bench-"))
    servers: list[LiveServer] = []
    nginx: subprocess.Popen | None = None
    try:
        media = work / "Videos"
        media.mkdir()
        write_noise(media / BIG_NAME, settings.big_size)
        with open(media / HUGE_NAME, "wb") as file:
            file.truncate(20 * GIB)
        work.chmod(0o755)

        for line in machine_lines():
            print(line)
        print(
            f"Mode: {'quick' if args.quick else 'full'}; {settings.big_size / GIB:g} GiB of random bytes "
            "(in the page cache), 20 GiB sparse file for the RSS phase"
        )
        print(flush=True)

        nginx, nginx_port = start_nginx(nginx_binary, work / "nginx", media)
        targets = []
        for name, sendfile in (("couchcast", "1"), ("couchcast-nosendfile", "0")):
            home = work / f"home-{name}"
            server = start_server([media], home, env={"COUCHCAST_SENDFILE": sendfile})
            servers.append(server)
            targets.append(couchcast_target(name, server))
        reference = Target("nginx", nginx_port, "/", "", nginx.pid)
        targets.append(reference)

        results: dict[str, dict] = {target.name: {} for target in targets}

        runs = settings.runs_per_server
        print(f"1. single stream, {settings.big_size / GIB:g} GiB, {runs} run(s) per server…", flush=True)
        speeds: dict[str, list[float]] = {target.name: [] for target in targets}
        for target in targets:  # warm up each server (imports, first-request work)
            single_stream(target, settings.big_size)
        for _ in range(settings.runs_per_server):
            for target in targets:  # interleaved, so a noisy moment hits every server alike
                speeds[target.name].append(single_stream(target, settings.big_size))
        for target in targets:
            results[target.name]["throughput"] = statistics.median(speeds[target.name])

        print(f"2. 32 readers at 2 MB/s + a fresh 1 KiB range every 0.5 s, {settings.latency_seconds:g} s…")
        for target in targets:
            print(f"   {target.name}", flush=True)
            results[target.name]["latency"] = many_slow_readers(target, settings.latency_seconds)

        print(f"3. RSS, 8 fast readers of a 20 GiB sparse file, {settings.rss_seconds:g} s…")
        for target in targets:
            print(f"   {target.name}", flush=True)
            results[target.name]["rss"] = rss_while_streaming(target, media / HUGE_NAME, settings.rss_seconds)

        print(
            f"4. random 64 KiB ranges on one keep-alive connection, {settings.ranges_seconds:g} s, "
            f"{runs} run(s) per server…",
            flush=True,
        )
        rates: dict[str, list[float]] = {target.name: [] for target in targets}
        for _ in range(runs):
            for target in targets:
                rates[target.name].append(
                    keepalive_ranges(target, settings.ranges_seconds, settings.big_size)
                )
        for target in targets:
            results[target.name]["ranges"] = statistics.median(rates[target.name])

        print()
        print_table(results, speeds, rates, [t.name for t in targets])
        return 0
    except KeyboardInterrupt:
        print("\nInterrupted: stopping the servers and removing the files.", file=sys.stderr)
        return 130
    except (OSError, HTTPError) as exc:
        print(f"\nThe benchmark stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        shutil.rmtree(work, ignore_errors=True)


def print_table(
    results: dict[str, dict], speeds: dict[str, list[float]], rates: dict[str, list[float]], names: list[str]
) -> None:
    width = 26  # five runs of four digits fit a cell
    header = f"{'':34}" + "".join(f"{name:>{width}}" for name in names)
    rule = "-" * len(header)

    def row(label: str, cell) -> None:
        print(f"{label:34}" + "".join(f"{cell(results[name], name):>{width}}" for name in names))

    def throughput_ratio(result: dict, name: str) -> str:
        if name == "nginx":
            return "1.00"
        ratio = result["throughput"] / results["nginx"]["throughput"]
        goal = 0.95 if name == "couchcast" else 0.8
        return f"{ratio:.2f}x >= {goal}x {verdict(ratio >= goal)}"

    def served(result: dict, name: str) -> str:
        latency = result["latency"]
        return f"{latency['served']}/{latency['clients']} {verdict(latency['served'] == latency['clients'])}"

    def rss_path(result: dict, name: str) -> str:
        rss = result["rss"]
        return f"{rss['start']:.1f}/{rss['max']:.1f}/{rss['end']:.1f}"

    print(header)
    print(rule)
    row("1. single stream MB/s (median)", lambda r, n: f"{r['throughput']:.0f}")
    row("   each run MB/s", lambda r, n: " ".join(f"{s:.0f}" for s in speeds[n]))
    row("   ratio to nginx", throughput_ratio)
    print(rule)
    row("2. readers given >= 90% of bytes", served)
    row(
        "   least MB read / expected",
        lambda r, n: f"{r['latency']['least_mb']:.1f}/{r['latency']['expected_mb']:.0f}",
    )
    row("   1 KiB range p50 ms", lambda r, n: f"{r['latency']['p50']:.2f}")
    row(
        "   1 KiB range p99 ms (<= 10)",
        lambda r, n: f"{r['latency']['p99']:.2f} {verdict(r['latency']['p99'] <= 10)}",
    )
    row("   1 KiB range max ms", lambda r, n: f"{r['latency']['max']:.2f}")
    row("   timed requests", lambda r, n: str(r["latency"]["samples"]))
    row("   server CPU % (of one core)", lambda r, n: f"{r['latency']['cpu']:.1f}")
    print(rule)
    row("3. RSS MB before the readers", lambda r, n: f"{r['rss']['idle']:.1f}")
    row("   RSS MB start/max/end", rss_path)
    row("   max RSS (<= 200 MB)", lambda r, n: verdict(r["rss"]["max"] <= 200))
    row("   drift MB (<= 5)", lambda r, n: f"{r['rss']['drift']:+.1f} {verdict(abs(r['rss']['drift']) <= 5)}")
    row("   GB the 8 readers got", lambda r, n: f"{r['rss']['streamed_gb']:.1f}")
    print(rule)
    row(
        "4. 64 KiB ranges/s (>= 1500), median",
        lambda r, n: f"{r['ranges']:.0f} {verdict(r['ranges'] >= 1500)}",
    )
    row("   each run /s", lambda r, n: " ".join(f"{x:.0f}" for x in rates[n]))
    row("   ratio to nginx", lambda r, n: f"{r['ranges'] / results['nginx']['ranges']:.2f}x")
    print(rule)
    print("nginx's RSS counts its master and worker. The goals are the couchcast columns'; the nginx column")
    print("shows where the yardstick stands. couchcast-nosendfile reads the file in Python")
    print("(COUCHCAST_SENDFILE=0, what platforms without os.sendfile get), held to 0.8x nginx.")
    print(f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 CPUs)")


if __name__ == "__main__":
    sys.exit(main())
