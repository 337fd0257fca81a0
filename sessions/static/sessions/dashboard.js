/* Coordinator dashboard: each row follows its session's topic (session.seats). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const rt = window.Lyceum && window.Lyceum.realtime;
  if (!rt) return;
  const table = document.querySelector("[data-testid=dashboard]");
  const rows = document.querySelectorAll("tr[data-topic]");
  const waiting = new Set([...rows].map((row) => row.dataset.topic));
  // data-live="true" once every row's topic is subscribed.
  const settle = () => { if (table && waiting.size === 0) table.dataset.live = "true"; };
  rt.onStatus("resumed", (name) => { waiting.delete(name); settle(); });
  settle();
  for (const row of rows) {
    const topic = row.dataset.topic;
    rt.subscribe(topic);
    rt.on(topic, "session.seats", (data) => {
      for (const cell of row.querySelectorAll("[data-field]")) {
        const value = data[cell.dataset.field];
        if (value !== undefined) cell.textContent = value;
      }
      row.classList.remove("flash");
      void row.offsetWidth; // restart the highlight
      row.classList.add("flash");
    });
    // A session that ends while the dashboard is open is shown as such (greyed, tagged).
    rt.on(topic, "session.changed", (data) => {
      if (data.status !== "completed" || row.classList.contains("muted")) return;
      row.classList.add("muted");
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = gettext("Completed");
      row.querySelector("td").append(" ", tag);
    });
  }
})();
