"""The phone-link page (/pair) the tray's "Phone link" opens: QR code, link, addresses, firewall note."""

from __future__ import annotations

import html

from server import network


def page(server, query: str = "") -> str:
    response = server.request(f"/pair{query}")
    assert response.status == 200
    return html.unescape(response.body.decode("utf-8"))


def test_pairing_page_shows_the_phone_link_with_the_key_and_its_qr_code(server):
    body = page(server)
    first = network.lan_addresses()[0].ip
    assert f'href="http://{first}:{server.port}/?key={server.key}"' in body
    assert '<div class="pair-qr"' in body and "<svg" in body


def test_pairing_page_lists_every_candidate_address(server):
    body = page(server)
    for address in network.lan_addresses():
        assert f'href="?address={address.ip}"' in body


def test_pairing_page_marks_the_chosen_address(server):
    first = network.lan_addresses()[0].ip
    assert f'href="?address={first}" aria-current="true"' in page(server, f"?address={first}")


def test_unknown_address_falls_back_to_the_default_route_one(server):
    first = network.lan_addresses()[0].ip
    assert f"http://{first}:{server.port}/?key=" in page(server, "?address=10.99.99.99")


def test_pairing_page_explains_the_firewall_prompts(server):
    body = page(server)
    assert "Windows Defender Firewall" in body and "accept incoming connections" in body


def test_pairing_page_needs_the_access_key(server):
    assert server.request("/pair", with_key=False).status == 401
