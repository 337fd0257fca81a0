/* The team skills matrix, live: cells change on skill.changed from skills.team.<id> (the
 * manager) or skills.space.<id> (coordinators, admins). Ephemeral events: after a dropped
 * connection the page refetches the matrix from the API and redraws every cell. */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  if (!Lyceum) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const table = document.getElementById("skills-matrix");
  if (!table) return;
  const status = document.getElementById("live-status");
  const topics = (table.dataset.topics || "").split(" ").filter(Boolean);

  const show = (value) => (value === null || value === undefined ? "–" : String(value));

  function update(cell) {
    const row = table.querySelector('tr[data-user="' + cell.user + '"]');
    const td = row && row.querySelector('td[data-skill="' + cell.skill + '"]');
    if (!td) return;
    td.querySelector(".ev").textContent = String(cell.evidenced);
    td.querySelector(".sm").textContent = show(cell.self) + "/" + show(cell.manager);
    const target = Number(td.dataset.target || 0);
    const level = Math.max(cell.evidenced || 0, cell.manager || 0);
    td.classList.toggle("gap", target > 0 && level < target);
    td.classList.add("changed");
  }

  function refetch() {
    fetch(table.dataset.api, {credentials: "same-origin"})
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => {
        if (!data) return;
        data.people.forEach((p) => p.cells.forEach((c) => update(Object.assign({user: p.id}, c))));
      })
      .catch(() => {});
  }

  let dropped = false;
  rt.onStatus("open", () => {
    if (status) status.textContent = gettext("Live");
    if (dropped) refetch();
  });
  rt.onStatus("close", () => {
    dropped = true;
    if (status) status.textContent = gettext("Reconnecting…");
  });
  if (rt.connected && status) status.textContent = gettext("Live");
  topics.forEach((topic) => {
    rt.subscribe(topic);
    rt.on(topic, "skill.changed", (data) => (data.cells || []).forEach(update));
  });
})();
