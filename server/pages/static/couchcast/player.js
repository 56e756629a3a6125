/* Couchcast player: resume, progress saving, next/previous, speed, picture-in-picture, keyboard. */
"use strict";
(function () {
  const item = JSON.parse(document.getElementById("player-data").textContent);
  const video = document.getElementById("video");
  const $ = (id) => document.getElementById(id);
  const SAVE_EVERY_MS = 5000;
  const store = {
    get(name, fallback) { try { return localStorage.getItem("couchcast." + name) ?? fallback; } catch (e) { return fallback; } },
    set(name, value) { try { localStorage.setItem("couchcast." + name, value); } catch (e) { /* private mode */ } },
  };

  /* Source and resume: offered, never forced; the video waits at the resume point either way. */
  const autoplay = new URLSearchParams(location.search).get("autoplay") === "1";
  const problem = window.Couchcast.setSource(video, item, item.resume);
  if (problem) { $("playback-problem").textContent = problem; $("playback-problem").hidden = false; }
  const showProblem = (message) => { $("playback-problem").textContent = message; $("playback-problem").hidden = false; };
  video.addEventListener("error", () => {
    showProblem("This video could not be played here. Try Download, or another browser.");
  });
  // The server's own words, when it has them: no room for another conversion, a broken file.
  video.addEventListener("couchcast:problem", (event) => showProblem(event.detail));
  const offer = $("resume-offer");
  const play = () => video.play().catch(() => { /* autoplay refused: the native play button is there */ });
  if (item.resume > 0 && !autoplay) {
    offer.hidden = false;
    $("resume").addEventListener("click", () => { offer.hidden = true; play(); });
    $("start-over").addEventListener("click", () => { offer.hidden = true; video.currentTime = 0; play(); });
    video.addEventListener("play", () => { offer.hidden = true; }, { once: true });
  } else if (autoplay) {
    play();
  }

  /* Progress: every few seconds while playing, and on pause, leaving, and the end. */
  let lastSaved = 0;
  let savedPosition = -1;
  function save(ended) {
    const position = video.currentTime || 0;
    if (!ended && (position < 1 || Math.abs(position - savedPosition) < 0.5)) return;
    savedPosition = position;
    lastSaved = Date.now();
    fetch(item.progress_url, {
      method: "POST",
      keepalive: true,  // still sent when the page is being closed
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": item.csrf_token },
      body: JSON.stringify({
        folder_id: item.folder_id, path: item.path, position: position,
        duration: isFinite(video.duration) ? video.duration : item.duration, ended: !!ended,
        // The tracks chosen (tracks.js), chosen again when this file is resumed.
        ...(video.couchcastTracks ? { audio: video.couchcastTracks.audio, subtitles: video.couchcastTracks.subtitles } : {}),
      }),
    }).then(showSaveProblem).catch(() => { /* offline for a moment: the next save carries the position */ });
  }
  /* A save the server could not keep (a full disk) is said on the page; the next one that works hides it. */
  function showSaveProblem(response) {
    const notice = $("progress-problem");
    if (response.status < 500) { notice.hidden = true; return; }
    response.json().then((body) => { notice.textContent = body.error; notice.hidden = false; }).catch(() => {});
  }
  video.addEventListener("timeupdate", () => { if (!video.paused && Date.now() - lastSaved > SAVE_EVERY_MS) save(false); });
  video.addEventListener("pause", () => { if (!video.ended) save(false); });
  window.addEventListener("pagehide", () => save(false));
  video.addEventListener("couchcast:tracks", () => { savedPosition = -1; save(false); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") save(false); });

  /* The end: watched; then the next one in the folder, unless autoplay is off or cancelled. */
  const autoplayBox = $("autoplay");
  if (autoplayBox) {
    autoplayBox.checked = store.get("autoplay", "1") === "1";
    autoplayBox.addEventListener("change", () => store.set("autoplay", autoplayBox.checked ? "1" : "0"));
  }
  let nextTimer = null;
  video.addEventListener("ended", () => {
    save(true);
    if (!item.next_url || !autoplayBox || !autoplayBox.checked) return;
    $("up-next").hidden = false;
    nextTimer = setTimeout(() => { location.href = item.next_url + "?autoplay=1"; }, 4000);
  });
  if ($("cancel-next")) {
    $("cancel-next").addEventListener("click", () => { clearTimeout(nextTimer); $("up-next").hidden = true; });
  }

  /* Speed, remembered on this device. */
  const speed = $("speed");
  speed.value = store.get("speed", "1");
  if (!speed.value) speed.value = "1";
  const applySpeed = () => { video.playbackRate = Number(speed.value); video.defaultPlaybackRate = Number(speed.value); };
  applySpeed();
  video.addEventListener("loadedmetadata", applySpeed);
  speed.addEventListener("change", () => { store.set("speed", speed.value); applySpeed(); });

  /* Subtitles and sound tracks: tracks.js. */

  /* Picture-in-picture where the browser has it (iOS offers it in its own controls). */
  const pip = $("pip");
  if (document.pictureInPictureEnabled && !video.disablePictureInPicture) {
    pip.hidden = false;
    pip.addEventListener("click", () => {
      const request = document.pictureInPictureElement ? document.exitPictureInPicture() : video.requestPictureInPicture();
      request.catch(() => { /* not allowed right now (no video frame yet) */ });
    });
  }

  /* Keyboard on desktop: space, arrows, f, m. */
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea, button, a")) return;
    const actions = {
      " ": () => (video.paused ? play() : video.pause()),
      k: () => (video.paused ? play() : video.pause()),
      ArrowLeft: () => { video.currentTime = Math.max(0, video.currentTime - 10); },
      ArrowRight: () => { video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 10); },
      ArrowUp: () => { video.volume = Math.min(1, video.volume + 0.1); },
      ArrowDown: () => { video.volume = Math.max(0, video.volume - 0.1); },
      f: () => (document.fullscreenElement ? document.exitFullscreen() : video.requestFullscreen()).catch(() => {}),
      m: () => { video.muted = !video.muted; },
    };
    const action = actions[event.key] || actions[event.key.toLowerCase()];
    if (!action) return;
    event.preventDefault();
    action();
  });

})();
