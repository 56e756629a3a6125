/* Couchcast: the film in another player. "Play on TV" (the browser's own cast / AirPlay picker), and
 * "Open in VLC" on Android and iOS ("Copy link for VLC" on a computer).
 *
 * None of those players has this page's cookie, and none may see the access key: every URL here comes
 * from the server's answer (`open_in` of /api/playback, given by playback.js as a "couchcast:plan"
 * event at the start and after every track switch), a signed per-file link on the address the phone
 * used. `url` is what this phone plays (the file, or its HLS playlist with the chosen sound track and
 * burned subtitles); `cast_url` is what a TV plays best (the file when it is plain MP4/H.264/AAC,
 * else the playlist).
 *
 * Cast: the Remote Playback API (Chromium on Android: Chromecast; Safari: AirPlay) sends a receiver
 * the URL of the <video>'s own source, so the source is first switched to `cast_url` (same moment,
 * same playing state), then the picker is opened. Safari without it (or where it cannot watch for
 * receivers) has webkitShowPlaybackTargetPicker.
 * The button shows only while the browser says a receiver is there.
 */
"use strict";
(function () {
  const item = JSON.parse(document.getElementById("player-data").textContent);
  const video = document.getElementById("video");
  const bar = document.getElementById("open-in");
  if (!bar) return;
  const HLS_TYPE = "application/vnd.apple.mpegurl";
  const VLC_ANDROID = "org.videolan.vlc";
  const VLC_PLAY_STORE = "https://play.google.com/store/apps/details?id=" + VLC_ANDROID;
  // A source switched for a cast is given this long to load before the picker opens anyway: the
  // browser allows a picker only for a few seconds after the tap (Chromium: 5 s).
  const SWITCH_WAIT_MS = 2500;
  const ua = navigator.userAgent;
  const android = /Android/i.test(ua);
  // iPadOS asks for desktop pages and says "Macintosh": its touch screen gives it away.
  const ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  let links = null;

  const SVG = "http://www.w3.org/2000/svg";
  function icon(path) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }
  // A screen with waves from its corner (cast), and a traffic cone (VLC).
  const CAST_ICON = "M3 5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-6v-2h6V5H5v3H3zm0 5a9 9 0 0 1 9 9h-2a7 7 0 0 0-7-7zm0 4a5 5 0 0 1 5 5H6a3 3 0 0 0-3-3zm0 4a1 1 0 0 1 1 1H3z";
  const CONE_ICON = "M10.2 2h3.6l1.1 4H9.1zM8.6 8h6.8l1.1 4H7.5zM7 14h10l1.4 5H21v2H3v-2h2.6z";
  function control(tag, id, path, text) {
    const element = document.createElement(tag);
    element.className = "button open-in-button";
    element.id = id;
    if (tag === "button") element.type = "button";
    const label = document.createElement("span");
    label.textContent = text;
    element.append(icon(path), label);
    element.hidden = true;
    bar.append(element);
    return element;
  }
  const castButton = control("button", "cast", CAST_ICON, "Play on TV");
  const vlcLink = android || ios ? control("a", "open-vlc", CONE_ICON, "Open in VLC") : null;
  const copyButton = android || ios ? null : control("button", "copy-vlc", CONE_ICON, "Copy link for VLC");
  const note = document.createElement("p");
  note.className = "open-in-note";
  note.id = "open-in-note";
  note.setAttribute("role", "status");
  note.hidden = true;
  bar.after(note);
  const say = (text) => { note.textContent = text; note.hidden = !text; };
  const showBar = () => { bar.hidden = ![castButton, vlcLink, copyButton].some((b) => b && !b.hidden); };

  /* Open in VLC: VLC for Android's documented intent (data: the URL, type video/*, extras `title` and
   * `position` in ms); VLC for iOS's x-callback-url `stream` action. */
  function vlcHref(position) {
    const url = links.url;
    if (ios) return "vlc-x-callback://x-callback-url/stream?url=" + encodeURIComponent(url);
    const parts = url.match(/^(https?):\/\/(.*)$/);
    const extras = [
      "scheme=" + parts[1],
      "package=" + VLC_ANDROID,
      "type=" + (item.type === "audio" ? "audio/*" : "video/*"),
      "S.title=" + encodeURIComponent(item.title || item.name),
      "S.browser_fallback_url=" + encodeURIComponent(VLC_PLAY_STORE),
    ];
    if (position >= 1) extras.push("l.position=" + Math.floor(position * 1000));
    return "intent://" + parts[2] + "#Intent;" + extras.join(";") + ";end";
  }
  if (vlcLink) {
    // The moment the viewer is at goes along when the link is followed (Android: VLC starts there).
    vlcLink.addEventListener("click", () => { if (links) vlcLink.href = vlcHref(video.currentTime || 0); });
  }

  /* On a computer: the link itself, for VLC's "Open Network Stream" (or any player). The clipboard API
   * exists only on secure pages (the LAN address is plain http), hence the older way as well. */
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "offscreen";
    document.body.append(field);
    field.select();
    const copied = document.execCommand("copy");
    field.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  if (copyButton) {
    copyButton.addEventListener("click", () => {
      if (!links) return;
      copy(links.url).then(
        () => say("Link copied. In VLC: Media › Open Network Stream, paste, Play. It works for 48 hours."),
        () => say("Copy this link into VLC: " + links.url),
      );
    });
  }

  /* Play on TV. */
  const remote = "remote" in HTMLMediaElement.prototype && video.remote && !video.disableRemotePlayback;
  const airplay = typeof video.webkitShowPlaybackTargetPicker === "function"
    && "WebKitPlaybackTargetAvailabilityEvent" in window;
  let picker = null;  // "remote" or "airplay": how the receiver is chosen
  function castAvailable(available) {
    castButton.hidden = !available || !links;
    castButton.dataset.available = available ? "1" : "0";
    showBar();
  }
  function watchAirPlay() {
    picker = "airplay";
    video.addEventListener("webkitplaybacktargetavailabilitychanged", (event) => {
      castAvailable(event.availability === "available");
    });
  }
  if (remote) {
    picker = "remote";
    // Rejected where the browser cannot watch for receivers (NotSupportedError): Safari's own AirPlay
    // event then, else no button.
    video.remote.watchAvailability(castAvailable).catch(() => {
      castAvailable(false);
      if (airplay) watchAirPlay();
    });
    const connected = () => {
      const on = video.remote.state !== "disconnected";
      castButton.classList.toggle("active", on);
      castButton.querySelector("span").textContent = on ? "Playing on TV" : "Play on TV";
    };
    video.remote.addEventListener("connecting", connected);
    video.remote.addEventListener("connect", connected);
    video.remote.addEventListener("disconnect", connected);
  } else if (airplay) {
    watchAirPlay();
  }

  // The receiver is sent the <video>'s source: it must be the signed cast URL. A stream fed by a
  // script (hls.js, MediaSource) cannot be sent at all, and a playlist goes into the element only
  // where the browser plays HLS itself.
  function switchForCast() {
    const target = links.cast_url;
    if (video.currentSrc === target || video.couchcastHls) return Promise.resolve();
    if (links.cast_type === HLS_TYPE && video.canPlayType(HLS_TYPE) === "") return Promise.resolve();
    const at = video.currentTime || 0;
    const playing = !video.paused && !video.ended;
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, SWITCH_WAIT_MS);
      video.addEventListener("loadedmetadata", () => {
        if (at > 0) video.currentTime = at;
        if (playing) video.play().catch(() => { /* the native play button is there */ });
        done();
      }, { once: true });
      video.src = target;
      video.dataset.source = target;
    });
  }
  castButton.addEventListener("click", () => {
    if (!links) return;
    say("");
    switchForCast().then(() => (picker === "remote" ? video.remote.prompt() : video.webkitShowPlaybackTargetPicker()))
      .catch((error) => {
        if (error && error.name === "NotAllowedError") return;  // the picker was closed: nothing chosen
        if (error && error.name === "InvalidAccessError") say("Tap Play on TV again to choose a TV.");
        else say("This browser could not send the video to a TV. Try Open in VLC.");
      });
  });

  video.addEventListener("couchcast:plan", (event) => {
    links = event.detail.open_in || null;
    if (!links) return;
    if (vlcLink) { vlcLink.href = vlcHref(0); vlcLink.hidden = false; }
    if (copyButton) copyButton.hidden = false;
    castAvailable(castButton.dataset.available === "1");
    // A track switched while a TV plays: the TV gets the new stream's link, not the cookie's URL.
    if (picker === "remote" && video.remote.state !== "disconnected") switchForCast();
  });
})();
