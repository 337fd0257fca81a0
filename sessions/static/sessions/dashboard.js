/* Coordinator dashboard: each row follows its session's topic (session.seats). */
(function () {
  "use strict";
  const rt = window.Lyceum && window.Lyceum.realtime;
  if (!rt) return;
  for (const row of document.querySelectorAll("tr[data-topic]")) {
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
  }
})();
