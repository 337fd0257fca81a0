/* Learning paths, live: the learner's own progress (paths.progress on hub.user.<id>, which
 * the shell already follows) and the manager's team table (paths.team.<id>). */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  if (!Lyceum) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const status = document.getElementById("live-status");
  if (status) {
    rt.onStatus("open", () => { status.textContent = gettext("Live"); });
    rt.onStatus("close", () => { status.textContent = gettext("Reconnecting…"); });
  }
  function onMine(data) {
    const card = document.querySelector('[data-testid=my-path][data-path="' + data.path + '"]');
    if (!card) return;
    card.querySelector("progress").value = data.progress;
    card.querySelector(".pct").textContent = data.progress + " %";
    const done = new Set(data.done || []);
    const items = [...card.querySelectorAll("li[data-item]")];
    items.forEach((li) => { if (done.has(Number(li.dataset.item))) li.dataset.state = "done"; });
    // Unlocks depend on rules the server knows: reload the list quietly when one may change.
    if (items.some((li) => li.dataset.state === "locked")) location.reload();
  }
  if (document.querySelector("[data-testid=my-path]")) {
    const topic = "hub.user." + document.body.dataset.userId;
    rt.on(topic, "paths.progress", onMine);
  }
  const table = document.getElementById("team-paths");
  if (table && table.dataset.topics) {
    table.dataset.topics.split(" ").filter(Boolean).forEach((topic) => {
      rt.subscribe(topic);
      const update = (data) => {
        const row = table.querySelector('tr[data-assignment="' + data.id + '"]');
        if (!row) return;
        row.querySelector(".pct").textContent = data.progress + " %";
        row.classList.toggle("overdue", !!data.overdue);
      };
      rt.on(topic, "path.progress", update);
      rt.on(topic, "path.overdue", update);
    });
  }
})();
