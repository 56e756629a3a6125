/* Couchcast sound and subtitles: one control for both, shown when the file offers a choice.
 *
 * The first choice: what was chosen last time for this file (kept with the watch progress), else the
 * sound track in the phone's language (navigator.languages), else the file's default; subtitles: a
 * forced track for that sound's language (a film's foreign-language lines), else off.
 * Sound tracks and subtitles drawn into the picture (styled ASS, DVD/Blu-ray pictures) are chosen
 * by the server's conversion, so changing one starts the stream again at the same moment; text
 * subtitles are the browser's own <track>s and change at once.
 * Couchcast.chooseTracks(answer) is what playback.js asks for the tracks to play; the current
 * choice is video.couchcastTracks ({audio, subtitles}), which player.js saves with the progress.
 */
"use strict";
(function () {
  const item = JSON.parse(document.getElementById("player-data").textContent);
  const video = document.getElementById("video");
  const $ = (id) => document.getElementById(id);
  const kept = item.tracks || { audio: null, subtitles: "" };
  const state = { audio: null, subtitles: "off" };
  let answer = null;
  video.couchcastTracks = state;

  const phoneLanguages = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""])
    .map((tag) => tag.toLowerCase().split("-")[0]);

  /* Files beside the video (.srt, .vtt): the page's own <track> elements. */
  function sidecars() {
    return Array.from(video.querySelectorAll("track:not([data-couchcast])")).map((track) => ({
      id: "s:" + decodeURIComponent(track.getAttribute("src").split("/").pop()),
      label: track.label, lang: track.srclang || null, kind: "text", forced: false, element: track,
    }));
  }
  const subtitleChoices = () => (answer ? answer.subtitles : []).concat(sidecars());
  const audioTrack = (index) => (answer ? answer.audio : []).find((a) => a.index === index) || null;

  function firstAudio(audio) {
    if (!audio.length) return null;
    if (kept.audio !== null && audio.some((a) => a.index === kept.audio)) return kept.audio;
    for (const language of phoneLanguages) {
      const match = audio.find((a) => a.lang === language);
      if (match) return match.index;
    }
    return (audio.find((a) => a.default) || audio[0]).index;
  }

  function firstSubtitles(choices) {
    if (kept.subtitles === "off" || choices.some((c) => c.id === kept.subtitles)) return kept.subtitles;
    const sound = audioTrack(state.audio);
    const forced = choices.filter((c) => c.forced);
    const match = forced.find((c) => sound && sound.lang && c.lang === sound.lang)
      || forced.find((c) => !c.lang || !sound || !sound.lang);
    if (match) return match.id;
    // No choice for this file yet: the subtitles last chosen on this device, by their name.
    let label = "off";
    try { label = localStorage.getItem("couchcast.subtitles") || "off"; } catch (e) { /* private mode */ }
    const byLabel = choices.find((c) => c.label === label && c.kind === "text");
    return byLabel ? byLabel.id : "off";
  }

  function burned() {
    const choice = subtitleChoices().find((c) => c.id === state.subtitles);
    return choice && choice.kind === "burn" ? choice.number : null;
  }

  window.Couchcast = window.Couchcast || {};
  window.Couchcast.chooseTracks = function (serverAnswer) {
    if (!answer) {
      answer = serverAnswer;
      state.audio = firstAudio(answer.audio || []);
      state.subtitles = firstSubtitles(subtitleChoices());
      render();
    }
    return { audio: state.audio, burn: burned() };
  };

  /* Text subtitles are shown by the browser: only the chosen one. */
  const trackId = (element) => (element.hasAttribute("data-couchcast") ? element.getAttribute("data-choice")
    : "s:" + decodeURIComponent(element.getAttribute("src").split("/").pop()));
  // Chromium makes its own automatic choice a moment after tracks are added (it showed an unchosen
  // track beside the forced one): for a while after each start, the choice made here is made again.
  const SETTLE_MS = 3000;
  let settleUntil = 0;
  function showText() {
    const chosen = subtitleChoices().find((c) => c.id === state.subtitles);
    for (const element of video.querySelectorAll("track")) {
      const mode = chosen && chosen.kind === "text" && trackId(element) === chosen.id ? "showing" : "disabled";
      if (element.track.mode !== mode) element.track.mode = mode;
    }
  }
  function started(promise) {
    promise.then(() => { settleUntil = Date.now() + SETTLE_MS; showText(); }, () => {});
  }
  video.textTracks.addEventListener("change", () => {
    if (Date.now() < settleUntil) { showText(); return; }
    // Later changes are the viewer's, in the browser's own captions menu: kept as the choice.
    const showing = Array.from(video.querySelectorAll("track")).find((element) => element.track.mode === "showing");
    const id = showing ? trackId(showing) : "off";
    if (burned() === null && id !== state.subtitles) {
      state.subtitles = id;
      render();
      video.dispatchEvent(new CustomEvent("couchcast:tracks", { detail: { audio: state.audio, subtitles: id } }));
    }
  });
  video.addEventListener("couchcast:starting", (event) => started(event.detail));

  function choose(audio, subtitles) {
    const before = { audio: state.audio, burn: burned() };
    state.audio = audio;
    state.subtitles = subtitles;
    const chosen = subtitleChoices().find((c) => c.id === subtitles);
    if (chosen && chosen.kind === "text") {
      try { localStorage.setItem("couchcast.subtitles", chosen.label); } catch (e) { /* private mode */ }
    } else if (subtitles === "off") {
      try { localStorage.setItem("couchcast.subtitles", "off"); } catch (e) { /* private mode */ }
    }
    render();
    if (before.audio !== state.audio || before.burn !== burned()) restart();
    else showText();
    video.dispatchEvent(new CustomEvent("couchcast:tracks", { detail: { audio: state.audio, subtitles: state.subtitles } }));
  }

  /* Another stream for the same film: it starts where the viewer was, playing if it was. */
  function restart() {
    const at = video.currentTime || 0;
    const playing = !video.paused && !video.ended;
    video.addEventListener("loadedmetadata", () => {
      if (at > 0) video.currentTime = Math.min(at, Math.max(0, (video.duration || at) - 1));
      if (playing) video.play().catch(() => { /* the native play button is there */ });
    }, { once: true });
    const restarted = window.Couchcast.startPlayback(video, { folder: item.folder_id, path: item.path, choose: window.Couchcast.chooseTracks });
    started(restarted);
    restarted.catch(() => {
      video.dispatchEvent(new CustomEvent("couchcast:problem", { detail: "That track could not be started. Reload the page to try again." }));
    });
  }

  /* The control: a button, and a sheet from the bottom of the screen (where a thumb is). */
  const button = $("tracks");
  const sheet = $("tracks-sheet");
  const backdrop = $("tracks-backdrop");

  function row(name, value, label, checked) {
    const [main, ...rest] = label.split(" · ");
    const choice = document.createElement("label");
    choice.className = "choice";
    const input = document.createElement("input");
    input.type = "radio"; input.name = name; input.value = value; input.checked = checked;
    const text = document.createElement("span");
    text.className = "choice-text";
    const title = document.createElement("span");
    title.textContent = main;
    text.append(title);
    if (rest.length) {
      const detail = document.createElement("small");
      detail.textContent = rest.join(" · ");
      text.append(detail);
    }
    choice.append(input, text);
    return choice;
  }

  function render() {
    const audio = answer ? answer.audio : [];
    const subtitles = subtitleChoices();
    const offered = audio.length > 1 || subtitles.length > 0;
    button.hidden = !offered;
    if (!offered) return;
    const sound = audioTrack(state.audio);
    const text = subtitles.find((c) => c.id === state.subtitles);
    $("tracks-summary").textContent = [
      audio.length > 1 && sound ? sound.label.split(" · ")[0] : null,
      subtitles.length ? (text ? "Subtitles: " + text.label : "Subtitles off") : null,
    ].filter(Boolean).join(" · ");
    const audioList = $("audio-choices");
    audioList.hidden = audio.length < 2;
    audioList.querySelector(".choices").replaceChildren(...audio.map((a) => row("audio", String(a.index), a.label, a.index === state.audio)));
    const subtitleList = $("subtitle-choices");
    subtitleList.hidden = subtitles.length === 0;
    subtitleList.querySelector(".choices").replaceChildren(
      row("subtitles", "off", "Off", state.subtitles === "off"),
      ...subtitles.map((c) => row("subtitles", c.id, c.label, c.id === state.subtitles)));
  }

  function open() {
    sheet.hidden = false; backdrop.hidden = false;
    button.setAttribute("aria-expanded", "true");
    const checked = sheet.querySelector("input:checked");
    if (checked) checked.focus();
  }
  function close() {
    sheet.hidden = true; backdrop.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }
  button.addEventListener("click", () => (sheet.hidden ? open() : close()));
  backdrop.addEventListener("click", close);
  $("tracks-done").addEventListener("click", close);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !sheet.hidden) close(); });
  sheet.addEventListener("change", (event) => {
    const input = event.target;
    if (input.name === "audio") choose(Number(input.value), state.subtitles);
    else if (input.name === "subtitles") choose(state.audio, input.value);
  });

  /* Without the server's answer (an old server, direct play fallback), sidecar files are still offered. */
  window.addEventListener("load", () => { if (!answer) render(); });
})();
