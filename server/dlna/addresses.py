"""Which addresses the DLNA server answers: the house's own networks, never the internet.

A TV finds the server by multicast on its own network, and a router forwards neither multicast nor
(normally) a port to it; still, a port forwarded by hand or a public IPv6 address would reach it from
outside, so every SSDP message and every DLNA HTTP request from elsewhere is ignored.
"""

from __future__ import annotations

import ipaddress

PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",  # this computer
        "169.254.0.0/16",  # IPv4 link-local (no DHCP server)
        "::1/128",
        "fc00::/7",  # IPv6 unique local addresses
        "fe80::/10",  # IPv6 link-local
    )
)


def is_private_address(address: str) -> bool:
    """Whether a peer's address (as a socket or REMOTE_ADDR gives it, "%zone" allowed) is in the house."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in PRIVATE_NETWORKS if network.version == ip.version)
