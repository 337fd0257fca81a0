// The recording's playback page: the class's chat (its messaging conversation, read
// through the chat API as its members read it) appears beside the video at the time each
// message was written: lines up to the video's current time are shown, so seeking back
// hides the later ones again. Chapters seek the video.
(function () {
  "use strict";
  // Being prepared (a background job composes it): reload when the class's topic says the
  // file is there.
  const preparing = document.getElementById("rec-preparing");
  if (preparing && window.Lyceum && Lyceum.realtime) {
    const topic = preparing.dataset.topic;
    Lyceum.realtime.on(topic, "recording.saved", () => window.location.reload());
    Lyceum.realtime.on(topic, "recording.failed", () => {
      document.getElementById("rec-failed").hidden = false;
    });
    // Marked once the server has answered the subscription (the tests wait for it).
    Lyceum.realtime.onStatus("resumed", (name) => {
      if (name === topic) preparing.dataset.subscribed = "true";
    });
    Lyceum.realtime.subscribe(topic);
  }
})();
(function () {
  "use strict";
  const root = document.getElementById("recording");
  const video = document.getElementById("rec-video");
  if (!root || !video) return;
  const started = Date.parse(root.dataset.startedAt);
  const list = document.getElementById("rec-lines");
  const empty = document.getElementById("rec-no-chat");
  let lines = [];

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
  }
  function stamp(el, seconds) {
    el.textContent = clock(seconds);
  }
  document.querySelectorAll(".rec-time").forEach((el) => stamp(el, parseFloat(el.dataset.seconds)));

  let shown = -1;
  function sync() {
    const now = video.currentTime;
    let last = -1;
    lines.forEach((line, i) => {
      const visible = parseFloat(line.dataset.at) <= now;
      line.hidden = !visible;
      if (visible) last = i;
    });
    empty.hidden = last >= 0;
    if (last > shown) list.scrollTop = list.scrollHeight;
    shown = last;
  }
  ["timeupdate", "seeked", "loadedmetadata"].forEach((type) => video.addEventListener(type, sync));
  // timeupdate comes every ~250 ms: while playing, each frame keeps the chat on time.
  function tick() {
    sync();
    if (!video.paused && !video.ended) requestAnimationFrame(tick);
  }
  video.addEventListener("play", () => requestAnimationFrame(tick));

  document.querySelectorAll(".rec-chapter").forEach((button) => {
    button.addEventListener("click", () => {
      video.currentTime = parseFloat(button.dataset.at);
      video.play().catch(() => {});
    });
  });

  function line(message) {
    const at = (Date.parse(message.created_at) - started) / 1000;
    const li = document.createElement("li");
    li.className = "rec-line";
    li.dataset.at = at.toFixed(2);
    li.setAttribute("data-testid", "rec-line");
    li.hidden = true;
    const time = document.createElement("span");
    time.className = "rec-time muted";
    stamp(time, at);
    const name = document.createElement("strong");
    name.textContent = message.sender.name;
    li.append(time, " ", name, " ", message.body);
    return li;
  }

  async function loadChat() {
    const get = (url) => fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
    const found = await get("/api/v1/conversations/live-class/" + encodeURIComponent(root.dataset.chatKey) + "/");
    if (!found.ok) {
      document.getElementById("rec-chat-closed").hidden = false;
      empty.hidden = true;
      return;
    }
    const conversation = await found.json();
    let after = 0;
    for (let page = 0; page < 50; page++) {
      const response = await get("/api/v1/conversations/" + conversation.id + "/messages/?limit=200&after=" + after);
      if (!response.ok) break;
      const data = await response.json();
      data.results.forEach((message) => {
        after = Math.max(after, message.id);
        if (message.deleted || Date.parse(message.created_at) < started) return;
        lines.push(line(message));
      });
      if (!data.has_more) break;
    }
    lines.sort((a, b) => parseFloat(a.dataset.at) - parseFloat(b.dataset.at));
    list.replaceChildren(...lines);
    root.dataset.chatLoaded = "true";
    sync();
  }
  loadChat().catch(() => { root.dataset.chatLoaded = "false"; });
  sync();
})();
