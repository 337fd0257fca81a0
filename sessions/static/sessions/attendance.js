/* Sign-in sheet: a mark posts to REST without leaving the page; marks by other trainers
 * arrive live on sessions.session.<id>.attendance, the counts on the session topic. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const initial = JSON.parse(document.getElementById("attendance-initial").textContent);
  const rt = window.Lyceum && window.Lyceum.realtime;
  const shell = window.Lyceum && window.Lyceum.shell;

  function show(registration, mark) {
    const item = document.querySelector(`li[data-registration="${registration}"]`);
    if (!item) return;
    item.dataset.mark = mark;
    for (const button of item.querySelectorAll("button.mark")) {
      const on = button.value === mark;
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  // -- offline (issue 21): a mark made without a network waits in the outbox with the time
  // it was made; the server keeps the latest mark, so a late sync never undoes a newer one.
  const outbox = window.Lyceum && window.Lyceum.outbox;
  const markUrl = `/api/v1/sessions/${initial.session}/attendance/`;
  function pending(registration, on) {
    const item = document.querySelector(`li[data-registration="${registration}"]`);
    if (!item) return;
    if (on) item.dataset.pending = "1"; else delete item.dataset.pending;
  }
  function queue(registration, mark) {
    show(registration, mark);
    pending(registration, true);
    return outbox.add({
      url: markUrl, kind: "attendance", label: document.title,
      body: {registration: registration, attendance: mark, marked_at: new Date().toISOString()},
    });
  }
  if (outbox) {
    // Reopened offline: the saved page shows the marks that still wait to be sent.
    outbox.all().then((entries) => entries.filter((e) => e.url === markUrl)
      .forEach((e) => { show(e.body.registration, e.body.attendance); pending(e.body.registration, true); }))
      .catch(() => {});
    outbox.onResult(({entry, status, data}) => {
      if (entry.url !== markUrl) return;
      pending(entry.body.registration, false);
      // What the sheet holds now: this mark, or a newer one made by someone else.
      if (status === 200 && data) {
        show(data.registration, data.attendance);
      } else {
        const message = (data && data.error && data.error.message) || gettext("Could not save.");
        if (window.Lyceum.toast) window.Lyceum.toast(message);
      }
    });
  }

  document.querySelectorAll("form.marks").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      if (!shell) return; // plain form post
      event.preventDefault();
      const button = event.submitter;
      const registration = Number(form.elements.registration.value);
      if (outbox && !navigator.onLine) { queue(registration, button.value); return; }
      let response;
      try {
        response = await fetch(markUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": shell.csrfToken()},
          body: JSON.stringify({registration: registration, attendance: button.value}),
        });
      } catch (err) {
        if (outbox) queue(registration, button.value);
        return;
      }
      if (response.ok) {
        show(registration, button.value);
      } else {
        const body = await response.json().catch(() => ({}));
        const message = (body.error && (body.error.details
          ? Object.values(body.error.details).flat().join(" ") : body.error.message))
          || gettext("Could not save.");
        Lyceum.toast(message);
      }
    });
  });
  if (!rt) return;
  rt.subscribe(initial.topic);
  rt.on(initial.topic, "attendance.marked", (data) => show(data.registration, data.attendance));
  const sessionTopic = `sessions.session.${initial.session}`;
  rt.subscribe(sessionTopic);
  rt.on(sessionTopic, "attendance.summary", (counts) => {
    for (const [mark, n] of Object.entries(counts)) {
      const el = document.querySelector(`[data-count="${mark}"]`);
      if (el) el.textContent = n;
    }
  });
})();
