"""The DLNA media server (server.dlna) with real clients, in a network namespace this module makes:
nothing is sent on the real network. gssdp-discover (gupnp-tools) finds it, async-upnp-client's
`upnp-client` browses it, a plain HTTP client fetches a res URL with a Range and no cookie, and
minidlna answers the same folder for comparison. Needs root (CI runs as root) for the namespace."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server.dlna.addresses import is_private_address
from server.dlna.profiles import dlna_profile
from server.library.probe import MediaInfo, Stream
from tests.helpers import LiveServer, Response, make_video, start_server, wait_for

CLONE_NEWNET = 0x40000000
DEVICE = "urn:schemas-upnp-org:device:MediaServer:1"
CD = "urn:schemas-upnp-org:service:ContentDirectory:1"
CM = "urn:schemas-upnp-org:service:ConnectionManager:1"
DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
DC = "{http://purl.org/dc/elements/1.1/}"
UPNP = "{urn:schemas-upnp-org:metadata-1-0/upnp/}"
SEC = "{http://www.sec.co.kr/}"
LAN_ADDRESS = "10.77.0.1"  # on a veth pair inside the namespace; nothing leaves it
OUTSIDE_ADDRESS = "203.0.113.7"  # TEST-NET-3, also only inside the namespace: a "public" peer
UPNP_CLIENT = str(Path(sys.executable).with_name("upnp-client"))
PAGED_FILES = 250


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def namespace():
    """This thread (and every process it starts) in a new network namespace with only loopback and a
    veth pair; back in the original namespace afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("a network namespace of its own needs root and iproute2 here")
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    if libc.unshare(CLONE_NEWNET) != 0:
        os.close(original)
        pytest.skip(f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}")
    try:
        _ip("link", "set", "lo", "up")
        _ip("link", "set", "lo", "multicast", "on")
        _ip("route", "add", "239.0.0.0/8", "dev", "lo")
        # libupnp (VLC) refuses loopback: a private "LAN" address on a veth pair.
        _ip("link", "add", "home0", "type", "veth", "peer", "name", "home1")
        _ip("addr", "add", f"{LAN_ADDRESS}/24", "dev", "home0")
        _ip("addr", "add", f"{OUTSIDE_ADDRESS}/32", "dev", "lo")
        for name in ("home0", "home1"):
            _ip("link", "set", name, "multicast", "on")
            _ip("link", "set", name, "up")
        yield
    finally:
        libc.setns(original, CLONE_NEWNET)
        os.close(original)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dlna-media")
    # Not ultrafast: x264 then leaves out what Main adds, and the stream is Constrained Baseline.
    main = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p"]
    make_video(root / "Film One.mp4", 3, size="1280x720", video=main)
    (root / "Film One.srt").write_text("1\n00:00:00,500 --> 00:00:02,000\nHello, TV\n", encoding="utf-8")
    make_video(root / "clip.mkv", 2)
    make_video(root / "tune.m4a", 2, video=["-vn"])
    many = root / "Many"
    many.mkdir()
    for number in range(PAGED_FILES):
        (many / f"episode {number}.mkv").write_bytes(b"\0")
    return root


@pytest.fixture(scope="module")
def server(namespace, media, tmp_path_factory) -> LiveServer:
    live = start_server(
        [media], tmp_path_factory.mktemp("dlna-home"), extra_args=["--host", "0.0.0.0", "--dlna"]
    )
    yield live
    live.stop()


def upnp_call(port: int, action: str, host: str = "127.0.0.1", **arguments) -> dict:
    """One action through async-upnp-client's command line, its out arguments."""
    result = subprocess.run(
        [UPNP_CLIENT, "call-action", f"http://{host}:{port}/dlna/description.xml", action]
        + [f"{name}={value}" for name, value in arguments.items()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["out_parameters"]


def browse(port: int, object_id: str, flag: str = "BrowseDirectChildren", start: int = 0, count: int = 0):
    out = upnp_call(
        port,
        "ContentDirectory/Browse",
        ObjectID=object_id,
        BrowseFlag=flag,
        Filter="*",
        StartingIndex=start,
        RequestedCount=count,
        SortCriteria="",
    )
    return ET.fromstring(out["Result"]), out


def soap(
    server: LiveServer, body: str, service: str = "ContentDirectory", action: str = "Browse"
) -> Response:
    service_type = CD if service == "ContentDirectory" else CM
    return server.request(
        f"/dlna/control/{service}",
        "POST",
        {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": f'"{service_type}#{action}"'},
        with_key=False,
        body=body.encode(),
    )


def envelope(action: str, arguments: dict, service_type: str = CD) -> str:
    values = "".join(f"<{k}>{v}</{k}>" for k, v in arguments.items())
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:{action} xmlns:u="{service_type}">{values}</u:{action}></s:Body></s:Envelope>'
    )


def browse_arguments(object_id: str = "0", **changes) -> dict:
    arguments = {
        "ObjectID": object_id,
        "BrowseFlag": "BrowseDirectChildren",
        "Filter": "*",
        "StartingIndex": "0",
        "RequestedCount": "10",
        "SortCriteria": "",
    }
    return {**arguments, **changes}


def upnp_error(response: Response) -> int:
    """The UPnPError code of a fault: sent with HTTP 500 and a SOAP body, as UPnP specifies."""
    assert response.status == 500, response.body
    assert response.header("Content-Type").startswith("text/xml")
    code = re.search(rb"<errorCode>(\d+)</errorCode>", response.body)
    assert code, response.body
    assert b"Traceback" not in response.body and b"<html" not in response.body.lower()
    return int(code[1])


def m_search(target: str, source: str = "127.0.0.1", wait: float = 2.0) -> list[dict[str, str]]:
    """An M-SEARCH sent to the SSDP group from `source`; the answers that arrived within `wait`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
        message = (
            'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
            f"ST: {target}\r\n\r\n"
        )
        sock.sendto(message.encode(), ("239.255.255.250", 1900))
        answers = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(8192)
            except TimeoutError:
                break
            lines = data.decode("latin-1").split("\r\n")
            answers.append(
                {k.strip().upper(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            )
        return answers


def item_by_title(didl: ET.Element, title: str) -> ET.Element:
    for element in didl:
        if element.findtext(f"{DC}title") == title:
            return element
    raise AssertionError(f"{title} not in {[e.findtext(f'{DC}title') for e in didl]}")


def described(server: LiveServer) -> ET.Element:
    """The share's children once the scanner has probed the film and made its thumbnail."""

    def ready() -> list[ET.Element]:
        # A list around the element: an Element's own truth value is its number of children (and
        # deprecated in Python 3.12), not whether it is there.
        didl, _ = browse(server.port, "c1:")
        film = item_by_title(didl, "Film One")
        done = film.find(f"{UPNP}albumArtURI") is not None and film.find(f"{DIDL}res").get("duration")
        return [didl] if done else []

    return wait_for(ready, timeout=60)[0]


# --- pure parts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("192.168.1.20", True), ("10.0.0.1", True), ("172.31.255.1", True), ("127.0.0.1", True),
        ("169.254.3.4", True), ("::1", True), ("fd12::1", True), ("fe80::1%eth0", True),
        ("::ffff:192.168.1.2", True), ("172.32.0.1", False), ("8.8.8.8", False), ("2001:db8::1", False),
        ("100.64.0.1", False), ("::ffff:8.8.8.8", False), ("", False), ("nonsense", False),
    ],
)  # fmt: skip
def test_only_the_house_s_addresses_are_private(address, private):
    assert is_private_address(address) is private


def _info(container: str, video: tuple | None, audio: str | None) -> MediaInfo:
    streams = []
    if video:
        codec, profile, width, height = video
        streams.append(Stream(0, "video", codec, profile=profile, width=width, height=height))
    if audio:
        streams.append(Stream(1, "audio", audio))
    return MediaInfo(container, 10.0, tuple(streams))


@pytest.mark.parametrize(
    ("container", "video", "audio", "name", "profile"),
    [
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "High", 1920, 1080), "aac", "a.mp4", "AVC_MP4_HP_HD_AAC"),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "Main", 1280, 720), "aac", "a.mp4", "AVC_MP4_MP_HD_720p_AAC"),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "Main", 720, 576), "aac", "a.m4v", "AVC_MP4_MP_SD_AAC_MULT5"),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "Constrained Baseline", 1280, 720), "aac", "a.mp4",
         "AVC_MP4_BL_L31_HD_AAC"),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "High", 3840, 2160), "aac", "a.mp4", None),  # 4K: no AVC profile
        ("mov,mp4,m4a,3gp,3g2,mj2", ("hevc", "Main", 1920, 1080), "aac", "a.mp4", None),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "High", 1920, 1080), "ac3", "a.mp4", None),
        ("mov,mp4,m4a,3gp,3g2,mj2", ("h264", "High", 1920, 1080), "aac", "a.mov", None),
        ("matroska,webm", ("h264", "High", 1920, 1080), "aac", "a.mkv", None),
        ("mpegts", ("h264", "High", 1920, 1080), "aac", "a.ts", "AVC_TS_MP_HD_AAC_MULT5_ISO"),
        ("mp3", None, "mp3", "a.mp3", "MP3"),
        ("mov,mp4,m4a,3gp,3g2,mj2", None, "aac", "a.m4a", "AAC_ISO_320"),
        ("flac", None, "flac", "a.flac", None),
    ],
)  # fmt: skip
def test_a_dlna_profile_is_named_only_where_the_file_fits_it(container, video, audio, name, profile):
    assert dlna_profile(_info(container, video, audio), name) == profile


# --- with the real server in the namespace ------------------------------------------------------------


def test_gssdp_discover_finds_the_server(server):
    if shutil.which("gssdp-discover") is None:
        pytest.skip("gssdp-discover (Debian gupnp-tools) is not installed")
    result = subprocess.run(
        ["gssdp-discover", "-i", "lo", "--timeout", "3", "--target", DEVICE],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert f"::{DEVICE}" in result.stdout, result.stdout + result.stderr
    location = re.search(r"Location: (\S+)", result.stdout)[1]
    assert location == f"http://127.0.0.1:{server.port}/dlna/description.xml"
    description = server.request(urlsplit(location).path, with_key=False)
    assert description.status == 200
    root = ET.fromstring(description.body)
    name = root.findtext(
        "{urn:schemas-upnp-org:device-1-0}device/{urn:schemas-upnp-org:device-1-0}friendlyName"
    )
    assert name == f"Couchcast on {socket.gethostname().split('.')[0]}"


@pytest.mark.parametrize("target", ["ssdp:all", "upnp:rootdevice", DEVICE, CD, CM, "uuid"])
def test_m_search_is_answered_for_every_search_target(server, target):
    uuid = (server.home / "data" / "dlna-uuid").read_text().strip()
    asked = f"uuid:{uuid}" if target == "uuid" else target
    answers = m_search(asked)
    targets = {answer["ST"] for answer in answers}
    if target == "ssdp:all":
        assert targets == {"upnp:rootdevice", f"uuid:{uuid}", DEVICE, CD, CM}
    else:
        assert targets == {asked}
    for answer in answers:
        assert answer["USN"].startswith(f"uuid:{uuid}")
        assert answer["LOCATION"] == f"http://127.0.0.1:{server.port}/dlna/description.xml"
    assert m_search("urn:schemas-upnp-org:device:MediaRenderer:1", wait=1.2) == []


def test_nothing_is_answered_to_an_address_outside_the_house(server):
    assert m_search("ssdp:all", source=LAN_ADDRESS)  # a private address of the namespace: answered
    assert m_search("ssdp:all", source=OUTSIDE_ADDRESS) == []
    with socket.create_connection(("127.0.0.1", server.port), source_address=(OUTSIDE_ADDRESS, 0)) as sock:
        sock.sendall(b"GET /dlna/description.xml HTTP/1.0\r\nHost: x\r\n\r\n")
        assert sock.recv(100).split(b"\r\n")[0].endswith(b" 403 Forbidden")


def test_browse_shows_the_shares_then_folders_then_items(server):
    root, out = browse(server.port, "0")
    assert [(e.tag, e.get("id"), e.findtext(f"{DC}title")) for e in root] == [
        (f"{DIDL}container", "c1:", server_share_name(server))
    ]
    assert (out["NumberReturned"], out["TotalMatches"]) == (1, 1)
    didl = described(server)
    titles = [(element.tag.removeprefix(DIDL), element.findtext(f"{DC}title")) for element in didl]
    assert titles == [("container", "Many"), ("item", "clip"), ("item", "Film One"), ("item", "tune")]


def server_share_name(server: LiveServer) -> str:
    return json.loads(server.request("/api/folders").body)["folders"][0]["name"]


def test_an_item_carries_what_a_tv_needs(server, media):
    film = item_by_title(described(server), "Film One")
    assert film.get("parentID") == "c1:" and film.get("restricted") == "1"
    assert film.findtext(f"{UPNP}class") == "object.item.videoItem"
    res = film.find(f"{DIDL}res")
    assert res.get("protocolInfo") == (
        "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_MP_HD_720p_AAC;DLNA.ORG_OP=01;DLNA.ORG_CI=0;"
        "DLNA.ORG_FLAGS=01700000000000000000000000000000"
    )
    assert res.get("resolution") == "1280x720"
    assert res.get("duration").startswith("0:00:03.")
    assert int(res.get("size")) == (media / "Film One.mp4").stat().st_size
    assert server.key not in ET.tostring(film, encoding="unicode")
    art = film.find(f"{UPNP}albumArtURI")
    picture = server.request(urlsplit(art.text).path + "?" + urlsplit(art.text).query, with_key=False)
    assert picture.status == 200 and picture.header("Content-Type") == "image/jpeg"
    caption = film.find(f"{SEC}CaptionInfoEx")
    assert caption.get(f"{SEC}type") == "srt"
    subtitles = server.request(urlsplit(caption.text).path, with_key=False)
    assert subtitles.status == 200 and b"Hello, TV" in subtitles.body
    clip = item_by_title(described(server), "clip").find(f"{DIDL}res")
    assert clip.get("protocolInfo").startswith("http-get:*:video/x-matroska:DLNA.ORG_OP=01;")


def test_browse_metadata_of_the_root_a_folder_and_an_item(server):
    root, out = browse(server.port, "0", "BrowseMetadata")
    assert (root[0].get("id"), root[0].get("parentID"), root[0].get("childCount")) == ("0", "-1", "1")
    folder, _ = browse(server.port, "c1:Many", "BrowseMetadata")
    assert (folder[0].get("parentID"), folder[0].get("childCount")) == ("c1:", str(PAGED_FILES))
    item, out = browse(server.port, "i1:Film One.mp4", "BrowseMetadata")
    assert item[0].findtext(f"{DC}title") == "Film One" and out["NumberReturned"] == 1


def test_a_res_url_plays_with_a_range_and_no_cookie(server, media):
    film = item_by_title(described(server), "Film One")
    url = urlsplit(film.find(f"{DIDL}res").text)
    assert url.path.startswith("/l/") and not url.query
    response = server.request(
        url.path,
        headers={"Range": "bytes=100-1099", "getcontentFeatures.dlna.org": "1", "getCaptionInfo.sec": "1"},
        with_key=False,
    )
    assert response.status == 206
    with open(media / "Film One.mp4", "rb") as original:
        original.seek(100)
        assert response.body == original.read(1000)
    assert response.header("contentFeatures.dlna.org").startswith("DLNA.ORG_PN=AVC_MP4_MP_HD_720p_AAC;")
    assert response.header("transferMode.dlna.org") == "Streaming"
    caption = response.header("CaptionInfo.sec")
    assert caption and b"Hello, TV" in server.request(urlsplit(caption).path, with_key=False).body


def test_browse_pages_through_a_large_folder(server):
    seen = []
    for start in range(0, PAGED_FILES, 100):
        didl, out = browse(server.port, "c1:Many", start=start, count=100)
        assert out["TotalMatches"] == PAGED_FILES
        assert out["NumberReturned"] == len(didl) == min(100, PAGED_FILES - start)
        assert out["UpdateID"] >= 1
        seen += [element.get("id") for element in didl]
    assert seen == [f"i1:Many/episode {n}.mkv" for n in range(PAGED_FILES)]  # natural order
    everything, out = browse(server.port, "c1:Many", count=0)  # 0: all (up to the server's page cap)
    assert out["NumberReturned"] == PAGED_FILES


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("<s:Envelope", 401),
        ("not xml at all", 401),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', 401),
        (envelope("Browse", browse_arguments("c999:")), 701),
        (envelope("Browse", browse_arguments("i1:nope.mp4", BrowseFlag="BrowseMetadata")), 701),
        (envelope("Browse", browse_arguments("c1:../../etc")), 701),
        (envelope("Browse", browse_arguments("garbage")), 701),
        (envelope("Browse", browse_arguments(RequestedCount="99999999999999")), 402),
        (envelope("Browse", browse_arguments(RequestedCount="9" * 5000)), 402),
        (envelope("Browse", browse_arguments(StartingIndex="-1")), 402),
        (envelope("Browse", browse_arguments(StartingIndex="500")), 600),
        (envelope("Browse", browse_arguments(BrowseFlag="BrowseEverything")), 402),
        (envelope("Browse", {"ObjectID": "0"}), 402),
        (envelope("Search", {"ContainerID": "0", "SearchCriteria": "*"}), 401),
        (envelope("DestroyObject", {"ObjectID": "i1:Film One.mp4"}), 401),
    ],
    ids=[
        "truncated", "not-xml", "doctype", "unknown-share", "unknown-item", "climbing", "garbage-id",
        "huge-count", "5000-digit-count", "negative-start", "start-past-end", "bad-flag", "missing-args",
        "search", "destroy",
    ],
)  # fmt: skip
def test_bad_control_requests_get_upnp_faults(server, body, code):
    action = re.search(r"<u:(\w+)", body)
    assert upnp_error(soap(server, body, action=action[1] if action else "Browse")) == code


def test_connection_manager_answers(server):
    out = upnp_call(server.port, "ConnectionManager/GetProtocolInfo")
    assert "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_HP_HD_AAC" in out["Source"].split(",")
    assert upnp_call(server.port, "ConnectionManager/GetCurrentConnectionIDs")["ConnectionIDs"] == "0"
    wrong = soap(server, envelope("GetCurrentConnectionInfo", {"ConnectionID": "5"}, CM), "ConnectionManager",
                 "GetCurrentConnectionInfo")  # fmt: skip
    assert upnp_error(wrong) == 706


def test_a_removed_share_is_gone_from_browse_and_its_links_stop(namespace, media, tmp_path):
    other = tmp_path / "other"
    make_video(other / "kept.mp4", 1)
    home = tmp_path / "home"
    first = start_server([media, other], home, extra_args=["--dlna"])
    try:
        shares, _ = browse(first.port, "0")
        assert len(shares) == 2
        film = item_by_title(browse(first.port, "c1:")[0], "Film One")
        link = urlsplit(film.find(f"{DIDL}res").text).path
        assert first.request(link, with_key=False).status == 200
    finally:
        first.stop()
    second = start_server([other], home, extra_args=["--dlna"])
    try:
        shares, _ = browse(second.port, "0")
        assert [share.findtext(f"{DC}title") for share in shares] == ["other"]
        assert second.request(link, with_key=False).status == 404
        assert upnp_error(soap(second, envelope("Browse", browse_arguments("c1:")))) == 701
    finally:
        second.stop()


def test_dlna_is_off_by_default_and_says_byebye_when_stopped(namespace, media, tmp_path):
    plain = start_server([media], tmp_path / "plain")
    try:
        assert plain.request("/dlna/description.xml", with_key=False).status == 404
        assert plain.request("/dlna/description.xml").status == 404  # the key does not turn it on
        # Only the module's own DLNA server answers (it is still running), never this one.
        answers = m_search(DEVICE, wait=1.2)
        assert not [a for a in answers if f":{plain.port}/" in a["LOCATION"]]
    finally:
        plain.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("", 1900))
        membership = socket.inet_aton("239.255.255.250") + socket.inet_aton("127.0.0.1")
        listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        dlna = start_server([media], tmp_path / "dlna", extra_args=["--dlna"])
        alive = _notifications(listener, "ssdp:alive")
        dlna.stop()
        byebye = _notifications(listener, "ssdp:byebye")
    assert {n["NT"] for n in alive} >= {"upnp:rootdevice", DEVICE, CD, CM}
    assert {n["NT"] for n in byebye} >= {"upnp:rootdevice", DEVICE, CD, CM}


def _notifications(listener: socket.socket, kind: str, wait: float = 3.0) -> list[dict[str, str]]:
    found = []
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            data = listener.recv(8192).decode("latin-1")
        except TimeoutError:
            break
        if data.startswith("NOTIFY"):
            headers = {
                k.strip().upper(): v.strip()
                for k, _, v in (line.partition(":") for line in data.split("\r\n")[1:])
            }
            if headers.get("NTS") == kind:
                found.append(headers)
                if len({n["NT"] for n in found}) >= 5:
                    break
    return found


def test_vlc_plays_from_the_library(server):
    """VLC's UPnP access browses a container; run as nobody (VLC refuses root)."""
    if shutil.which("cvlc") is None or shutil.which("setpriv") is None:
        pytest.skip("VLC (vlc-bin) or setpriv is not installed")
    url = f"upnp://http://{LAN_ADDRESS}:{server.port}/dlna/control/ContentDirectory?ObjectID=c1:"
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cvlc", "-I", "dummy", "-vv",
         "--miface", "home0", "--vout", "dummy", "--aout", "dummy", "--play-and-exit", "--run-time", "2",
         url],
        capture_output=True, text=True, timeout=60, cwd="/tmp",
    )  # fmt: skip
    if "No response from browse() action" in result.stderr:
        # Seen with minidlna in the same namespace too: VLC 3.0.24's libupnp gets no answer to its call.
        pytest.skip("VLC's UPnP access gets no Browse answer in a network namespace (minidlna's neither)")
    assert "/media/1/" in result.stderr, result.stderr[-3000:]


def test_minidlna_lists_the_same_folder(namespace, media, tmp_path):
    """The reference: minidlna's answer for the same files (docs/design.md compares the two)."""
    if shutil.which("minidlnad") is None:
        pytest.skip("minidlna is not installed")
    port = 28201
    conf = tmp_path / "minidlna.conf"
    conf.write_text(
        f"media_dir=V,{media}\nport={port}\ndb_dir={tmp_path}/db\nlog_dir={tmp_path}\n"
        "friendly_name=reference\nnetwork_interface=lo\ninotify=no\n"
    )
    process = subprocess.Popen(
        ["minidlnad", "-d", "-f", str(conf), "-P", str(tmp_path / "pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        description = f"http://127.0.0.1:{port}/rootDesc.xml"

        def folder():
            result = subprocess.run(
                [UPNP_CLIENT, "call-action", description, "ContentDirectory/Browse", "ObjectID=64",
                 "BrowseFlag=BrowseDirectChildren", "Filter=*", "StartingIndex=0", "RequestedCount=10",
                 "SortCriteria="],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            if result.returncode != 0:
                return []
            didl = ET.fromstring(json.loads(result.stdout)["out_parameters"]["Result"])
            # media_dir=V: videos only (the .m4a is left out by minidlna).
            titles = [element.findtext(f"{DC}title") for element in didl]
            return [didl] if "Film One" in titles else []  # a list: see described()

        (didl,) = wait_for(folder, timeout=30)
        film = item_by_title(didl, "Film One")
        protocol = film.find(f"{DIDL}res").get("protocolInfo")
        assert "DLNA.ORG_PN=AVC_MP4_MP_HD_720p_AAC" in protocol and "DLNA.ORG_OP=01" in protocol
        print(ET.tostring(film, encoding="unicode"))
    finally:
        process.terminate()
        process.wait(10)


def test_the_tray_shows_the_library_on_tvs_says_so_and_remembers(namespace, media, tmp_path, monkeypatch):
    """The tray's "Show on TVs (DLNA)": a click announces the server (an M-SEARCH finds it), the phone
    link page says it is on, the config keeps it; a second click says byebye and saves it off."""
    import importlib
    import json

    from desktop.tray import Tray
    from tests.inprocess import start_in_process

    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    for name in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
        monkeypatch.delitem(sys.modules, name)
    pystray = importlib.import_module("pystray")
    home = tmp_path / "home"
    server = start_in_process([media], home)
    try:

        class QuietIcon(pystray.Icon):
            """The dummy backend draws no menu and shows no notification."""

            def _update_menu(self):
                pass

            def _notify(self, message, title=None):
                pass

        tray = Tray(
            pystray, server.handle, icon_type=QuietIcon, open_url=list().append, choose_folder=lambda: None
        )
        toggle = next(i for i in tray.icon.menu.items if i.text == "Show on TVs (DLNA)")
        ours = f":{server.port}/"  # other servers of this module answer in this namespace too

        def found() -> bool:
            return any(ours in answer["LOCATION"] for answer in m_search(DEVICE, wait=1.5))

        assert not toggle.checked and not found()
        assert b"Also on your TVs" not in server.request("/pair").body

        toggle(tray.icon)
        assert toggle.checked and found()
        assert json.loads((home / "config" / "config.json").read_text())["dlna"] is True
        assert b"Also on your TVs" in server.request("/pair").body

        toggle(tray.icon)
        assert not toggle.checked and server.runtime.dlna is None and not found()
        assert json.loads((home / "config" / "config.json").read_text())["dlna"] is False
    finally:
        server.stop()
