/* The coordinator's conflicts card (home page): follows sessions.conflicts.<space> for each
   space they coordinate; on conflicts.changed it refetches the counts (REST). */
(function () {
  "use strict";
  const rt = window.Lyceum && window.Lyceum.realtime;
  const card = document.querySelector("[data-testid=conflicts-card]");
  if (!rt || !card) return;
  const spaces = (card.dataset.spaces || "").split(" ").filter(Boolean);
  const counter = card.querySelector("[data-count]");
  const some = card.querySelector("[data-some]");
  const none = card.querySelector("[data-none]");
  const counts = new Map();

  function show() {
    let total = 0;
    for (const n of counts.values()) total += n;
    counter.textContent = String(total);
    some.hidden = total === 0;
    none.hidden = total !== 0;
    card.dataset.updated = String(Date.now());
  }

  function refresh(space) {
    return fetch(`/api/v1/sessions/conflicts/?space=${encodeURIComponent(space)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((list) => { counts.set(space, list.length); show(); })
      .catch(() => {});
  }

  let waiting = spaces.length;
  for (const space of spaces) {
    const topic = `sessions.conflicts.${space}`;
    rt.subscribe(topic);
    rt.on(topic, "conflicts.changed", () => refresh(space));
    rt.onStatus("resumed", (name) => {
      if (name !== topic) return;
      refresh(space);  // what changed while away (the events are ephemeral)
      waiting -= 1;
      if (waiting <= 0) card.dataset.live = "true";
    });
  }
})();
