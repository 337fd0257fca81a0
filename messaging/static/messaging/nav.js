/* The navigation's chat badge: total unread messages, live.
 * Listens to each conversation's light ".unread" facet (which message arrived, not its
 * text) and to the person's own feed for reads made in any tab. The chat page tells it
 * which conversation is on screen (Lyceum.chatNav.viewing) and reads the counts. */
(function () {
  "use strict";
  const el = document.getElementById("chat-unread");
  const data = document.getElementById("chat-unread-counts");
  const userId = Number(document.body.dataset.userId);
  if (!el || !data || !userId || !window.Lyceum) return;
  const rt = window.Lyceum.realtime;
  const counts = JSON.parse(data.textContent || "{}");
  const watched = new Set();
  const listeners = new Set();

  function render() {
    let total = 0;
    for (const n of Object.values(counts)) total += n;
    el.textContent = String(total);
    el.hidden = total <= 0;
    for (const fn of listeners) fn(counts);
  }

  function watch(id) {
    id = String(id);
    if (watched.has(id)) return;
    watched.add(id);
    if (!(id in counts)) counts[id] = 0;
    const topic = "messaging.conversation." + id + ".unread";
    rt.on(topic, "message.new", (d) => {
      if (d.sender === userId) return;
      if (nav.viewing === Number(id) && document.visibilityState === "visible") return;
      counts[id] = (counts[id] || 0) + 1;
      render();
    });
    rt.subscribe(topic).catch(() => {});
  }

  const nav = {
    viewing: null,
    counts: counts,
    set(id, n) { counts[String(id)] = Math.max(0, n | 0); render(); },
    watch: watch,
    onChange(fn) { listeners.add(fn); fn(counts); },
  };
  window.Lyceum.chatNav = nav;

  Object.keys(counts).forEach(watch);
  const own = "hub.user." + userId;
  rt.on(own, "messaging.read", (d) => nav.set(d.conversation, d.unread));
  rt.on(own, "messaging.joined", (d) => { watch(d.conversation); render(); });
  // shell.js subscribes to the person's feed; after a reconnect, recount once.
  let first = true;
  rt.onStatus("resumed", (t) => {
    if (t !== own) return;
    if (first) { first = false; return; }
    fetch("/api/v1/conversations/", {credentials: "same-origin"})
      .then((r) => r.json())
      .then((d) => { for (const c of d.results) { watch(c.id); counts[String(c.id)] = c.unread; } render(); })
      .catch(() => {});
  });
  render();
})();
