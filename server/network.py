"""LAN addresses and the phone URL (used by `serve`, the tray and the pairing page)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote

import psutil

# Interfaces that phones on the home Wi-Fi cannot reach: VPNs, containers, virtual machines.
VIRTUAL_PREFIXES = (
    "docker", "br-", "veth", "virbr", "vboxnet", "vmnet", "tun", "tap", "wg", "utun", "zt",
    "tailscale", "lxc", "lxd", "cni", "flannel", "podman", "ham", "ppp", "vEthernet",
)  # fmt: skip


@dataclass(frozen=True)
class Address:
    ip: str
    interface: str
    default_route: bool
    virtual: bool


def default_route_ip() -> str | None:
    """The local address the OS would use to reach the internet (no packet is sent: UDP connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: routed like any outside address
            return probe.getsockname()[0]
        except OSError:
            return None


def lan_addresses() -> list[Address]:
    """Every IPv4 address a phone might use, the default-route one first, virtual ones last."""
    route_ip = default_route_ip()
    stats = psutil.net_if_stats()
    found = []
    for interface, addresses in psutil.net_if_addrs().items():
        if interface in stats and not stats[interface].isup:
            continue
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            ip = ipaddress.ip_address(address.address)
            if ip.is_loopback or ip.is_link_local:
                continue
            virtual = interface.startswith(VIRTUAL_PREFIXES)
            found.append(Address(address.address, interface, address.address == route_ip, virtual))
    found.sort(key=lambda a: (not a.default_route, a.virtual, not ipaddress.ip_address(a.ip).is_private))
    return found


def phone_host() -> str:
    """The address to put in the phone link; 127.0.0.1 when there is no network at all."""
    addresses = lan_addresses()
    return addresses[0].ip if addresses else "127.0.0.1"


def link(host: str, port: int, access_key: str, path: str = "/") -> str:
    return f"http://{host}:{port}{path}?key={quote(access_key, safe='')}"


def phone_url(port: int, access_key: str, bind_host: str = "0.0.0.0") -> str:
    """The link a phone scans: LAN address of the default-route interface, with the key once."""
    host = phone_host() if bind_host in ("0.0.0.0", "", "::") else bind_host
    return link(host, port, access_key)
