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

  document.querySelectorAll("form.marks").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      if (!shell) return; // plain form post
      event.preventDefault();
      const button = event.submitter;
      const registration = Number(form.elements.registration.value);
      const response = await fetch(`/api/v1/sessions/${initial.session}/attendance/`, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": shell.csrfToken()},
        body: JSON.stringify({registration: registration, attendance: button.value}),
      });
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
