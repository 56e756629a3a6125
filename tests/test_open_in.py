"""The film in another player, from the phone: "Open in VLC" (an Android intent, an iOS x-callback-url),
"Copy link for VLC" on a computer, and "Play on TV" (the browser's Remote Playback / AirPlay picker).

Every link is followed the way the other player would: with no cookie and no header (VLC and a cast
receiver have neither), a Range request for a file, and VLC itself for a converted film's playlist.
"""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests.helpers import PHONE, keyed_context, make_video
from tests.inprocess import start_in_process
from tests.recording_proxy import RecordingProxy
from tests.test_player_phone import wait_until
from tests.test_players import require, run_player, vlc_command, vlc_home  # noqa: F401 - a fixture

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
FILM = "Holiday 2019.mp4"  # plain MP4/H.264/AAC: played as it is, by the phone and by a TV
CONCERT = "Concert #2.mkv"  # H.264 with AC-3 (English) and AAC (French): remuxed for Chromium
INTENT = re.compile(r"^intent://(?P<rest>[^#]+)#Intent;(?P<extras>.*);end$")
SEGMENT = re.compile(r"/hls/1/Concert%20%232\.mkv/remux-[0-9]+\.ts\?audio=2$")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("OpenIn")
    make_video(root / FILM, 4, extra=["-movflags", "+faststart"])
    make_video(
        root / CONCERT,
        8,
        video=["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50"],
        audio=["-c:a:0", "ac3", "-c:a:1", "aac"],
        extra=[
            "-map", "0:v", "-map", "1:a", "-map", "1:a",
            "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
        ],
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def open_server(library, tmp_path_factory):
    live = start_in_process([library], tmp_path_factory.mktemp("home"))
    yield live
    live.stop()


def watch_url(server, name: str) -> str:
    return f"{server.url}/watch/1/{name.replace(' ', '%20').replace('#', '%23')}"


def phone_page(chromium, server, name: str, user_agent: str, **options):
    context = keyed_context(chromium, server, **PHONE, user_agent=user_agent, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(watch_url(server, name))
    return context, page, errors


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
    """What a player with no cookie and no key gets from `url`, over a real socket."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.headers
    finally:
        connection.close()


def assert_serves_the_exact_bytes(url: str, server, original: Path) -> None:
    """A Range request on the link, with no cookie: 206 and exactly those bytes of the file."""
    assert server.key not in unquote(url)
    assert urlsplit(url).path.startswith("/l/")
    data = original.read_bytes()
    status, body, headers = fetch(url, {"Range": "bytes=1000-60999"})
    assert status == 206, body[:200]
    assert body == data[1000:61000]
    assert headers["Content-Range"] == f"bytes 1000-60999/{len(data)}"


def android_target(href: str) -> tuple[str, dict[str, str]]:
    """The http URL an Android intent: link opens, and its extras."""
    match = INTENT.match(href)
    assert match, href
    extras = dict(part.split("=", 1) for part in match["extras"].split(";"))
    return f"{extras['scheme']}://{match['rest']}", extras


def test_android_offers_open_in_vlc_with_an_intent_to_the_file_itself(chromium, open_server, library):
    context, page, errors = phone_page(chromium, open_server, FILM, ANDROID)
    vlc = page.locator("#open-vlc")
    vlc.wait_for(state="visible")
    assert vlc.inner_text() == "Open in VLC"
    href = vlc.get_attribute("href")
    assert open_server.key not in unquote(href)
    url, extras = android_target(href)
    assert extras["package"] == "org.videolan.vlc"
    assert extras["type"] == "video/*"
    assert unquote(extras["S.title"]) == "Holiday (2019)"
    assert urlsplit(url).netloc == f"127.0.0.1:{open_server.port}"  # the address the phone used
    assert urlsplit(url).path.endswith("/media/1/Holiday%202019.mp4")
    assert_serves_the_exact_bytes(url, open_server, library / FILM)
    assert page.locator("#copy-vlc").count() == 0
    assert errors == []
    context.close()


def test_iphone_offers_open_in_vlc_with_an_x_callback_url_to_the_file(chromium, open_server, library):
    context, page, errors = phone_page(chromium, open_server, FILM, IPHONE)
    vlc = page.locator("#open-vlc")
    vlc.wait_for(state="visible")
    href = vlc.get_attribute("href")
    prefix = "vlc-x-callback://x-callback-url/stream?url="
    assert href.startswith(prefix), href
    url = unquote(href.removeprefix(prefix))
    assert href == prefix + quote(url, safe="!~*'()")  # the whole URL encoded (encodeURIComponent)
    assert_serves_the_exact_bytes(url, open_server, library / FILM)
    assert errors == []
    context.close()


def test_a_converted_film_opens_in_vlc_as_its_playlist_with_the_chosen_sound_track(
    chromium,
    open_server,
    vlc_home,  # noqa: F811 - pytest's fixture by name
):
    """The French track chosen on the phone: the intent names the remux playlist with audio=2, and VLC
    given that URL alone plays it, every segment fetched under a signed link with no cookie."""
    context, page, errors = phone_page(chromium, open_server, CONCERT, ANDROID)
    page.locator("#open-vlc").wait_for(state="visible")
    first, _ = android_target(page.locator("#open-vlc").get_attribute("href"))
    assert urlsplit(first).path.endswith("/hls/1/Concert%20%232.mkv/remux.m3u8"), first
    page.locator("#tracks").tap()
    page.locator("#audio-choices label", has_text="French").tap()
    wait_until(page, "() => document.getElementById('open-vlc').href.includes('audio%3D2') || "
               "document.getElementById('open-vlc').href.includes('audio=2')")  # fmt: skip
    url, _ = android_target(page.locator("#open-vlc").get_attribute("href"))
    assert urlsplit(url).query == "audio=2" and open_server.key not in unquote(url)
    assert errors == []
    context.close()

    cvlc = require("cvlc", "vlc-bin and vlc-plugin-base")
    proxy = RecordingProxy(open_server.port)
    try:
        through_proxy = url.replace(f"127.0.0.1:{open_server.port}", proxy.url.removeprefix("http://"))
        command, env = vlc_command(cvlc, through_proxy, vlc_home)
        played = run_player(command, env=env, cwd=vlc_home)
        exchanges = proxy.take()
    finally:
        proxy.close()
    assert played.returncode == 0, played.stdout[-3000:]
    segments = [e for e in exchanges if SEGMENT.search(e.target)]
    assert len(segments) >= 2, [e.target for e in exchanges]
    for exchange in exchanges:
        assert exchange.status in (200, 206), (exchange.target, exchange.status)
        assert "cookie" not in exchange.headers and "authorization" not in exchange.headers
        assert exchange.target.startswith("/l/") and open_server.key not in unquote(exchange.target)


def test_a_computer_gets_no_intent_and_copies_a_link_for_vlc(chromium, open_server, library):
    """No VLC app link on a desktop browser; "Copy link for VLC" puts a working signed link on the
    clipboard (127.0.0.1 is a secure page: the clipboard API is used)."""
    context = keyed_context(chromium, open_server, viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=open_server.url)
    page = context.new_page()
    page.goto(watch_url(open_server, FILM))
    copy = page.locator("#copy-vlc")
    copy.wait_for(state="visible")
    assert page.locator("#open-vlc").count() == 0
    assert "intent:" not in page.content() and "vlc-x-callback" not in page.content()
    copy.click()
    page.locator("#open-in-note").wait_for(state="visible")
    url = page.evaluate("navigator.clipboard.readText()")
    assert_serves_the_exact_bytes(url, open_server, library / FILM)
    context.close()


def test_play_on_tv_stays_hidden_when_no_receiver_is_there(chromium, open_server):
    """Headless Chromium finds no cast receiver: the button is never shown."""
    context, page, errors = phone_page(chromium, open_server, FILM, ANDROID)
    page.locator("#open-vlc").wait_for(state="visible")
    said = page.evaluate(
        """async () => {
            const video = document.getElementById('video');
            if (!('remote' in HTMLMediaElement.prototype)) return 'no Remote Playback API';
            try { await video.remote.watchAvailability(() => {}); return 'watching'; }
            catch (error) { return error.name; }
        }"""
    )
    print(f"\nheadless Chromium's Remote Playback: {said}")
    page.wait_for_timeout(500)  # an availability callback would have come by now
    assert page.locator("#cast").is_hidden()
    assert errors == []
    context.close()


# The browser's own APIs replaced (nothing of Couchcast's): a receiver is always there, and the
# picker records the source the browser would have sent it.
FAKE_REMOTE = """
(() => {
  const state = new WeakMap();
  Object.defineProperty(HTMLMediaElement.prototype, 'remote', { configurable: true, get() {
    if (!state.has(this)) {
      const video = this, target = new EventTarget();
      target.state = 'disconnected';
      target.watchAvailability = (callback) => {
        setTimeout(() => callback(true), 50);
        return Promise.resolve(1);
      };
      target.cancelWatchAvailability = () => Promise.resolve();
      target.prompt = () => { window.promptedWith = video.currentSrc; return Promise.resolve(); };
      state.set(this, target);
    }
    return state.get(this);
  } });
})();
"""
NO_REMOTE = "delete HTMLMediaElement.prototype.remote;"
# Remote Playback present but unable to watch for receivers (it says so): AirPlay's event is used.
REMOTE_CANNOT_WATCH = """
RemotePlayback.prototype.watchAvailability = () =>
  Promise.reject(new DOMException('cannot watch here', 'NotSupportedError'));
"""
FAKE_AIRPLAY = """
(() => {
  window.WebKitPlaybackTargetAvailabilityEvent = class extends Event {};
  HTMLMediaElement.prototype.webkitShowPlaybackTargetPicker = function () {
    window.promptedWith = this.currentSrc;
  };
  document.addEventListener('DOMContentLoaded', () => setTimeout(() => {
    const event = new Event('webkitplaybacktargetavailabilitychanged');
    event.availability = 'available';
    document.getElementById('video').dispatchEvent(event);
  }, 300));
})();
"""


CAST_APIS = {
    "remote": [FAKE_REMOTE],
    "airplay": [NO_REMOTE, FAKE_AIRPLAY],
    "remote-cannot-watch-airplay": [REMOTE_CANNOT_WATCH, FAKE_AIRPLAY],
}


@pytest.mark.parametrize("api", sorted(CAST_APIS))
def test_play_on_tv_sends_the_receiver_a_signed_link_to_the_file(chromium, open_server, library, api):
    """With a receiver there, "Play on TV" shows; tapping it switches the video to the signed link for
    a TV (the MP4 itself), at the same moment, before the picker opens: the receiver gets a URL that
    works with no cookie."""
    context = keyed_context(chromium, open_server, **PHONE, user_agent=ANDROID)
    for script in CAST_APIS[api]:
        context.add_init_script(script)
    page = context.new_page()
    page.goto(watch_url(open_server, FILM))
    cast = page.locator("#cast")
    cast.wait_for(state="visible")
    assert cast.inner_text() == "Play on TV"
    page.evaluate("document.getElementById('video').currentTime = 2")
    wait_until(page, "() => document.getElementById('video').currentTime >= 2")
    cast.tap()
    wait_until(page, "() => Boolean(window.promptedWith)")
    sent = page.evaluate("window.promptedWith")
    answer = json.loads(
        open_server.request(f"/api/playback/1?path={FILM.replace(' ', '%20')}&file=1&video=1&hls=1").body
    )
    assert answer["open_in"]["cast_kind"] == "direct"
    assert "/media/1/Holiday%202019.mp4" in sent
    assert page.evaluate("document.getElementById('video').currentTime") >= 1.9
    assert_serves_the_exact_bytes(sent, open_server, library / FILM)
    context.close()


def test_the_links_are_on_the_host_the_phone_used_and_hold_no_key(open_server):
    """`open_in` of /api/playback: absolute on the Host the phone sent, signed, never the key; a TV
    gets the playlist for a film it would not play as it is."""
    answer = json.loads(
        open_server.request(
            "/api/playback/1?path=Concert%20%232.mkv&file=0&video=1&hls=1",
            headers={"Host": "192.168.1.20:8765"},
        ).body
    )
    links = answer["open_in"]
    assert links["kind"] == "remux" and links["cast_kind"] == "remux"
    assert links["url"] == links["cast_url"]
    assert links["url"].startswith("http://192.168.1.20:8765/l/")
    assert links["type"] == "application/vnd.apple.mpegurl"
    assert open_server.key not in json.dumps(answer)
