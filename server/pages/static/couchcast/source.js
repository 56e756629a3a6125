/* Couchcast: how the player gets its bytes. The one decision other parts may replace.
 *
 * Couchcast.setSource(video, item, startAt) gives the <video> element its source for `item` (the
 * JSON blob of the player page: stream_url, mime with codecs when known, duration, subtitles...)
 * and starts it at `startAt` seconds. The transcoder replaces this function (say, to use an HLS
 * playlist when canPlayType(item.mime) is ""), and nothing else in the player needs to change.
 * It returns a short message when the browser will likely not play the file, else null.
 */
"use strict";
window.Couchcast = window.Couchcast || {};
window.Couchcast.setSource = function (video, item, startAt) {
  if (startAt > 0) {
    video.addEventListener("loadedmetadata", function seek() {
      video.currentTime = Math.min(startAt, Math.max(0, (video.duration || startAt) - 1));
    }, { once: true });
  }
  video.src = item.stream_url;
  if (item.mime && video.canPlayType(item.mime) === "") {
    return "This browser may not be able to play this file's format; it can still be downloaded.";
  }
  return null;
};
