/* The CSV import's Apply button: listen on identity.import.<id>, post the form with fetch,
 * move the bar on import.progress, reload on import.finished / import.failed. */
(function () {
  "use strict";
  const form = document.querySelector("[data-import-topic]");
  const Lyceum = window.Lyceum;
  if (!form || !Lyceum || !Lyceum.realtime) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const topic = form.dataset.importTopic;
  const bar = document.querySelector("[data-testid=import-progress]");
  const text = document.querySelector("[data-testid=import-progress-text]");
  function show(done, total) {
    bar.hidden = false;
    const pct = total ? Math.round((100 * done) / total) : 100;
    bar.firstElementChild.style.width = pct + "%";
    text.textContent = interpolate(gettext("%s of %s rows"), [done, total]);
    text.dataset.done = String(done);
  }
  function interpolate(fmt, args) {
    return window.interpolate ? window.interpolate(fmt, args) : fmt.replace(/%s/g, () => args.shift());
  }
  rt.on(topic, "import.progress", (data) => show(data.done, data.total));
  rt.on(topic, "import.finished", () => location.reload());
  rt.on(topic, "import.failed", () => location.reload());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    try { await rt.subscribe(topic); } catch (e) { /* the answer below still reloads */ }
    show(0, 1);
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: {Accept: "application/json"},
      credentials: "same-origin",
    });
    if (!response.ok) location.reload();
    else setTimeout(() => location.reload(), 300);
  });
})();
