"""SSDP (UPnP Device Architecture 1.0, part 1): announcing the server and answering searches.

One UDP socket on port 1900 joins the SSDP group (239.255.255.250) on each of the computer's private
IPv4 addresses. It sends `ssdp:alive` for the device and its services at start and again before
their announcements expire, `ssdp:byebye` at stop, and answers `M-SEARCH` from the house's own
addresses after the random delay (within MX) the protocol asks for, so that a room full of devices
does not answer a TV all at once. Everything runs on one thread of its own, which owns the socket.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from email.utils import formatdate

import psutil

from server.dlna.addresses import is_private_address
from server.dlna.description import DEVICE_TYPE, SERVICE_TYPES

log = logging.getLogger(__name__)

GROUP = "239.255.255.250"
PORT = 1900
# How long a control point may keep the announcement; it is sent again before half of it is over
# (UDA 1.0, 1.2.2), and then too the computer's addresses are read again (a laptop that changed Wi-Fi).
MAX_AGE = 1800
ANNOUNCE_EVERY = MAX_AGE // 2 - 60
# UDA 1.1 asks for a TTL of 2: the house's network, a router or two, not beyond.
MULTICAST_TTL = 2
# The longest wait before an answer (UDA: MX is at most 5, and an answer comes within MX seconds).
MAX_DELAY = 5.0
# Answers waiting for their delay, at most: a burst of searches (or a forged flood of them) must not
# grow a queue without end or make this server send more than this in one go.
MAX_PENDING = 256
MAX_DATAGRAM = 8192
# Each announcement is sent twice: UDP may lose one (UDA 1.0 suggests more than once).
ANNOUNCE_REPEAT = 2
ANNOUNCE_GAP = 0.2


def private_ipv4_addresses() -> list[str]:
    """The computer's IPv4 addresses a TV in the house may use (loopback too, for players on it)."""
    from server.network import VIRTUAL_PREFIXES

    stats = psutil.net_if_stats()
    found = []
    for interface, addresses in psutil.net_if_addrs().items():
        if (interface in stats and not stats[interface].isup) or interface.startswith(VIRTUAL_PREFIXES):
            continue
        for address in addresses:
            if address.family == socket.AF_INET and is_private_address(address.address):
                found.append(address.address)
    return found


def local_address_towards(peer: str) -> str | None:
    """The address of this computer that a packet to `peer` leaves from (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((peer, PORT))
            return probe.getsockname()[0]
        except OSError:
            return None


def parse_search(datagram: bytes) -> dict[str, str] | None:
    """The headers of an M-SEARCH request (names in upper case), or None for any other datagram."""
    lines = datagram.decode("latin-1").split("\r\n")
    if not lines or lines[0].strip().upper() != "M-SEARCH * HTTP/1.1":
        return None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().upper()] = value.strip()
    if headers.get("MAN", "").strip('"') != "ssdp:discover" or "ST" not in headers:
        return None
    return headers


class SsdpServer:
    """Announces one root device and answers searches for it until stop()."""

    def __init__(
        self,
        *,
        uuid: str,
        http_port: int,
        description_path: str,
        server_header: str,
        http_host: str = "0.0.0.0",
        addresses: Callable[[], list[str]] = private_ipv4_addresses,
        port: int = PORT,
    ) -> None:
        self.uuid = uuid
        self.http_port = http_port
        self.description_path = description_path
        self.server_header = server_header
        # A server listening on one address can only be reached there: announce only there.
        self.http_host = None if http_host in ("0.0.0.0", "", "::") else http_host
        self._addresses = addresses
        self.port = port
        self._socket: socket.socket | None = None
        self._joined: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = -1, -1
        self._pending: list[tuple[float, int, tuple[str, int], bytes]] = []
        self._order = itertools.count()
        self.started_at = 0.0

    # The notification types of a root device with its services, and the USN of each.
    def targets(self) -> list[tuple[str, str]]:
        udn = f"uuid:{self.uuid}"
        kinds = ["upnp:rootdevice", DEVICE_TYPE, *SERVICE_TYPES]
        return [(udn, udn)] + [(kind, f"{udn}::{kind}") for kind in kinds]

    def start(self) -> None:
        """Open the socket and the thread; the first announcements go out at once. Raises OSError
        when port 1900 cannot be opened at all."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                # Other SSDP programs on the same computer (minidlna, a player's discovery) share the port.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.bind(("", self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._wake_read, self._wake_write = os.pipe()
        self._join_groups()
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="couchcast-ssdp", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Say byebye on every address, close the socket, end the thread."""
        if self._thread is None:
            return
        self._stopping.set()
        os.write(self._wake_write, b"x")
        self._thread.join(timeout)
        self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _interface_addresses(self) -> list[str]:
        if self.http_host is not None:
            return [self.http_host] if is_private_address(self.http_host) else []
        return self._addresses()

    def _join_groups(self) -> None:
        """Join the SSDP group on every private address not joined yet (addresses come and go)."""
        assert self._socket is not None
        for address in self._interface_addresses():
            if address in self._joined:
                continue
            membership = socket.inet_aton(GROUP) + socket.inet_aton(address)
            try:
                self._socket.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            except OSError as exc:
                log.info("SSDP: could not listen on %s: %s", address, exc)
                continue
            self._joined.add(address)

    def _run(self) -> None:
        try:
            self._announce("ssdp:alive")
            next_announcement = time.monotonic() + ANNOUNCE_EVERY
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= next_announcement:
                    self._join_groups()
                    self._announce("ssdp:alive")
                    next_announcement = now + ANNOUNCE_EVERY
                while self._pending and self._pending[0][0] <= now:
                    _, _, peer, message = heapq.heappop(self._pending)
                    self._send(message, peer)
                wait = next_announcement - now
                if self._pending:
                    wait = min(wait, self._pending[0][0] - now)
                readable, _, _ = select.select([self._socket, self._wake_read], [], [], max(0.0, wait))
                if self._socket in readable:
                    self._receive()
            self._announce("ssdp:byebye")
        except Exception:
            log.exception("SSDP stopped")

    def _receive(self) -> None:
        assert self._socket is not None
        try:
            datagram, peer = self._socket.recvfrom(MAX_DATAGRAM)
        except OSError:
            return
        if not is_private_address(peer[0]):
            return  # not from the house: nothing is said to it
        headers = parse_search(datagram)
        if headers is None:
            return
        answers = self.answers(headers["ST"], peer[0])
        try:
            mx = float(headers.get("MX", "1")[:8])
        except ValueError:
            mx = 1.0
        if not math.isfinite(mx):
            mx = 1.0
        delay = random.uniform(0, min(max(mx, 0.0), MAX_DELAY))
        due = time.monotonic() + delay
        for answer in answers:
            if len(self._pending) >= MAX_PENDING:
                break
            heapq.heappush(self._pending, (due, next(self._order), peer, answer))

    def answers(self, search_target: str, peer: str) -> list[bytes]:
        """The answers to a search for `search_target` from `peer` (none when nothing matches)."""
        local = self.http_host or local_address_towards(peer)
        if local is None or not is_private_address(local):
            return []
        location = f"http://{local}:{self.http_port}{self.description_path}"
        if search_target == "ssdp:all":
            matched = self.targets()
        else:
            matched = [(nt, usn) for nt, usn in self.targets() if nt == search_target]
        return [
            (
                "HTTP/1.1 200 OK\r\n"
                f"CACHE-CONTROL: max-age={MAX_AGE}\r\n"
                f"DATE: {formatdate(usegmt=True)}\r\n"
                "EXT:\r\n"
                f"LOCATION: {location}\r\n"
                f"SERVER: {self.server_header}\r\n"
                f"ST: {nt}\r\n"
                f"USN: {usn}\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            for nt, usn in matched
        ]

    def _announce(self, kind: str) -> None:
        """NOTIFY on every joined address, each message twice (UDP may lose one)."""
        assert self._socket is not None
        for repeat in range(ANNOUNCE_REPEAT):
            if repeat:
                time.sleep(ANNOUNCE_GAP)
            for address in sorted(self._joined):
                try:
                    self._socket.setsockopt(
                        socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address)
                    )
                except OSError:
                    continue
                for nt, usn in self.targets():
                    lines = [
                        "NOTIFY * HTTP/1.1",
                        f"HOST: {GROUP}:{PORT}",
                        f"NT: {nt}",
                        f"NTS: {kind}",
                        f"USN: {usn}",
                    ]
                    if kind == "ssdp:alive":
                        lines += [
                            f"CACHE-CONTROL: max-age={MAX_AGE}",
                            f"LOCATION: http://{address}:{self.http_port}{self.description_path}",
                            f"SERVER: {self.server_header}",
                        ]
                    self._send(("\r\n".join(lines) + "\r\n\r\n").encode(), (GROUP, self.port))

    def _send(self, message: bytes, peer: tuple[str, int]) -> None:
        assert self._socket is not None
        try:
            self._socket.sendto(message, peer)
        except OSError as exc:
            log.debug("SSDP: could not send to %s: %s", peer, exc)
