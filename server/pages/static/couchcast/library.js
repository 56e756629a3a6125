/* Couchcast library pages: thumbnails and durations appear as soon as the computer has made them. */
"use strict";
(function () {
  const POLL_MS = 4000;
  const MAX_POLLS = 45;  // three minutes; after that a reload shows whatever is ready
  let polls = 0;

  function pendingGroups() {
    const groups = new Map();
    document.querySelectorAll(".card[data-pending]").forEach((card) => {
      const path = card.dataset.path;
      const directory = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      const key = card.dataset.folder + "\n" + directory;
      if (!groups.has(key)) groups.set(key, { folder: card.dataset.folder, directory: directory, cards: [] });
      groups.get(key).cards.push(card);
    });
    return [...groups.values()];
  }

  function update(card, item) {
    if (item.duration) {
      const badge = card.querySelector(".duration");
      badge.textContent = window.CouchcastClock(item.duration);
      badge.hidden = false;
    }
    if (item.thumbnail_url) {
      const img = document.createElement("img");
      img.src = item.thumbnail_url;
      img.alt = "";
      img.width = 480;
      img.height = 270;
      card.querySelector(".placeholder").replaceWith(img);
    }
    if (item.described) delete card.dataset.pending;
  }

  async function poll() {
    const groups = pendingGroups();
    if (!groups.length || ++polls > MAX_POLLS) return;
    for (const group of groups) {
      const url = `/api/folders/${group.folder}/items?path=${encodeURIComponent(group.directory)}`;
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) continue;
        const byPath = new Map((await response.json()).items.map((i) => [i.path, i]));
        group.cards.forEach((card) => { const item = byPath.get(card.dataset.path); if (item) update(card, item); });
      } catch (error) {
        /* the computer went to sleep or the Wi-Fi dropped: try again next time */
      }
    }
    setTimeout(poll, POLL_MS);
  }

  window.CouchcastClock = function (seconds) {
    const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  };
  if (document.querySelector(".card[data-pending]")) setTimeout(poll, POLL_MS);
})();
