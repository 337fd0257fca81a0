/* A background bulk operation's page: listen on certifications.bulkjob.<id>, move the bar
 * on bulk.progress, reload on bulk.finished / bulk.failed (the CSV import's mechanism). */
(function () {
  "use strict";
  const box = document.querySelector("[data-bulk-topic]");
  const Lyceum = window.Lyceum;
  if (!box || !Lyceum || !Lyceum.realtime) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const topic = box.dataset.bulkTopic;
  const bar = box.querySelector("[data-testid=bulk-progress]");
  const text = box.querySelector("[data-testid=bulk-progress-text]");
  function interpolate(fmt, args) {
    return window.interpolate ? window.interpolate(fmt, args) : fmt.replace(/%s/g, () => args.shift());
  }
  rt.on(topic, "bulk.progress", (data) => {
    const pct = data.total ? Math.round((100 * data.done) / data.total) : 100;
    bar.firstElementChild.style.width = pct + "%";
    bar.firstElementChild.hidden = false;  // empty until the first progress event
    text.textContent = interpolate(gettext("%s of %s rows"), [data.done, data.total]);
    text.dataset.done = String(data.done);
  });
  rt.on(topic, "bulk.finished", () => location.reload());
  rt.on(topic, "bulk.failed", () => location.reload());
  rt.subscribe(topic).then(
    // The job may have ended before the subscription: ask once.
    () => fetch(location.pathname.replace("/certifications/", "/api/v1/certifications/"), {
      credentials: "same-origin", headers: {Accept: "application/json"},
    }).then((r) => r.ok ? r.json() : null).then((job) => {
      if (job && (job.status === "done" || job.status === "failed")) location.reload();
    }),
    () => {}
  );
})();
