/* "Security and data": the export's progress, live over /ws/ (export.progress events on the
 * person's own topic, which the shell subscribes to). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const Lyceum = window.Lyceum;
  const userId = document.body.dataset.userId;
  const labels = {queued: gettext("Queued"), running: gettext("Being prepared"), ready: gettext("Ready"), failed: gettext("Failed")};

  function show(item, data) {
    const bar = item.querySelector(".progress");
    const fill = bar && bar.querySelector("span");
    if (fill) fill.style.width = data.progress + "%";
    if (bar) {
      bar.setAttribute("aria-valuenow", String(data.progress));
      bar.hidden = data.status === "ready" || data.status === "failed";
    }
    const status = item.querySelector(".export-status");
    if (status) status.textContent = labels[data.status] || data.status;
    const link = item.querySelector(".export-download");
    if (link) link.hidden = data.status !== "ready";
    item.dataset.status = data.status;
  }

  document.querySelectorAll("[data-export-id]").forEach((item) => {
    const fill = item.querySelector("[data-progress]");
    if (fill) fill.style.width = fill.dataset.progress + "%";
  });
  if (!Lyceum || !Lyceum.realtime || !userId) return;
  Lyceum.realtime.on("hub.user." + userId, "export.progress", (data) => {
    const item = document.querySelector('[data-export-id="' + Number(data.id) + '"]');
    if (item) show(item, data);
  });
})();
