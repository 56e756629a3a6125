/* Couchcast.startPlayback(video, item): play a library file in a <video>, converted when needed.
 *
 * item is {folder: <shared folder id>, path: "<path in that folder>", choose: optional function}. When
 * given, choose(answer) gets the server's first answer (with its `audio` and `subtitles` tracks) and
 * returns the tracks to play, {audio: <stream index>|null, burn: <subtitle number>|null}: they go into
 * the plan's query, and so into the playlist's and segments' URLs. The server says which MIME
 * strings describe the file; this asks the browser about them (canPlayType, MediaSource), sends the
 * answers back, and gets the plan: the file itself (direct), or an HLS stream (remux/transcode),
 * played natively (Safari, Android, Chromium) or through hls.js when Couchcast serves it.
 * Returns a promise of the server's answer ({plan: {kind, reason, url, busy}, subtitles, problem,
 * open_in, ...}), also given to the video as a "couchcast:plan" event's detail.
 * When the computer has no room for another conversion (plan.busy), or a converted stream fails,
 * the video gets a "couchcast:problem" event whose detail is the server's words for the viewer.
 * It also takes over Couchcast.setSource, the player page's one hook for choosing a source.
 */
(function () {
  "use strict";

  var HLS_TYPE = "application/vnd.apple.mpegurl";
  var HLS_JS = "/static/couchcast/vendor/hls.min.js";
  var hlsJsLoading = null;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || "The server answered " + response.status);
        return body;
      });
    });
  }

  // The file itself goes into <video src>: only canPlayType answers for that. MediaSource answers for
  // what a script feeds it (Chromium says yes to video/mp2t there, and cannot open a .ts as a src).
  function playsFile(video, type) {
    return Boolean(type) && video.canPlayType(type) !== "";
  }

  // The copied video goes into HLS: native (canPlayType) or through hls.js (MediaSource).
  function plays(video, type) {
    if (!type) return false;
    if (video.canPlayType(type) !== "") return true;
    return Boolean(window.MediaSource && MediaSource.isTypeSupported(type));
  }

  // hls.js is only fetched by browsers without native HLS; a build without it falls back to direct play.
  function loadHlsJs() {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!hlsJsLoading) {
      hlsJsLoading = new Promise(function (resolve) {
        var script = document.createElement("script");
        script.src = HLS_JS;
        script.onload = function () { resolve(window.Hls || null); };
        script.onerror = function () { resolve(null); };
        document.head.appendChild(script);
      });
    }
    return hlsJsLoading;
  }

  function hlsSupport(video) {
    if (video.canPlayType(HLS_TYPE) !== "") return Promise.resolve("native");
    if (!window.MediaSource) return Promise.resolve(null);
    return loadHlsJs().then(function (Hls) {
      return Hls && Hls.isSupported() ? "hls.js" : null;
    });
  }

  function detach(video) {
    if (video.couchcastHls) {
      video.couchcastHls.destroy();
      video.couchcastHls = null;
    }
    Array.prototype.forEach.call(video.querySelectorAll("track[data-couchcast]"), function (track) {
      track.remove();
    });
  }

  function addSubtitles(video, subtitles) {
    subtitles.forEach(function (subtitle) {
      var track = document.createElement("track");
      track.kind = "subtitles";
      track.src = subtitle.url;
      track.label = subtitle.label;
      if (subtitle.lang || subtitle.language) track.srclang = subtitle.lang || subtitle.language;
      track.setAttribute("data-couchcast", "");
      if (subtitle.id) track.setAttribute("data-choice", subtitle.id);
      video.appendChild(track);
    });
  }

  function tell(video, message) {
    video.dispatchEvent(new CustomEvent("couchcast:problem", { detail: message }));
  }

  // A converted stream stopped: ask the server again, which says why in words (no room, a broken file).
  function explain(video, planUrl) {
    getJSON(planUrl).then(function (answer) {
      var plan = answer.plan || {};
      tell(video, plan.busy || answer.problem ||
        "The converted stream stopped. Reload the page to try again.");
    }).catch(function (error) { tell(video, error.message); });
  }

  // Every plan, the first and each track switch's, once the video has its source: the page's other
  // players (open_in.js: VLC, a TV) follow it.
  function planned(video, answer) {
    video.dispatchEvent(new CustomEvent("couchcast:plan", { detail: answer }));
  }

  function startPlayback(video, item) {
    var base = "/api/playback/" + encodeURIComponent(item.folder) + "?path=" + encodeURIComponent(item.path);
    detach(video);
    return Promise.all([getJSON(base), hlsSupport(video)]).then(function (results) {
      var info = results[0];
      var hls = results[1];
      var answers = {
        file: playsFile(video, info.types.file) ? "1" : "0",
        video: plays(video, info.types.video) ? "1" : "0",
        hls: hls ? "1" : "0",
      };
      var choice = item.choose ? item.choose(info) : {};
      if (choice.audio !== null && choice.audio !== undefined) answers.audio = String(choice.audio);
      if (choice.burn !== null && choice.burn !== undefined) answers.burn = String(choice.burn);
      var query = Object.keys(answers).map(function (name) { return name + "=" + answers[name]; }).join("&");
      var planUrl = base + "&" + query;
      return getJSON(planUrl).then(function (answer) {
        var plan = answer.plan;
        if (plan.busy) {
          video.dataset.playback = "busy";
          tell(video, plan.busy);
          planned(video, answer);
          return answer;
        }
        if (plan.kind !== "direct" && hls === "hls.js") {
          var player = new window.Hls();
          player.loadSource(plan.url);
          player.attachMedia(video);
          player.on(window.Hls.Events.ERROR, function (event, data) {
            if (data.fatal) explain(video, planUrl);
          });
          video.couchcastHls = player;
        } else {
          video.src = plan.url;
          if (plan.kind !== "direct") {
            video.addEventListener("error", function () { explain(video, planUrl); }, { once: true });
          }
        }
        addSubtitles(video, answer.subtitles.filter(function (subtitle) { return subtitle.url; }));
        video.dataset.playback = plan.kind;
        video.dataset.source = plan.url;
        planned(video, answer);
        return answer;
      });
    });
  }

  window.Couchcast = window.Couchcast || {};
  window.Couchcast.startPlayback = startPlayback;

  // The player page's hook (source.js): it calls Couchcast.setSource(video, item, startAt) with the
  // page's item ({folder_id, path, stream_url, ...}). Loaded after source.js, this plays the item
  // the way this browser can, and falls back to the page's own direct source if the server cannot
  // say (an old server, a network error).
  var directSource = window.Couchcast.setSource;
  window.Couchcast.setSource = function (video, item, startAt) {
    if (startAt > 0) {
      video.addEventListener("loadedmetadata", function () {
        video.currentTime = Math.min(startAt, Math.max(0, (video.duration || startAt) - 1));
      }, { once: true });
    }
    var playing = { folder: item.folder_id, path: item.path, choose: window.Couchcast.chooseTracks };
    var started = startPlayback(video, playing);
    video.dispatchEvent(new CustomEvent("couchcast:starting", { detail: started }));
    started.catch(function () {
      if (directSource) directSource(video, item, 0);
      else video.src = item.stream_url;
    });
    return null;
  };
})();
