/* A session's page: seats left and waiting-list length live (topic sessions.session.<id>),
 * the learner's own status and position (hub.user.<id>, sessions.position), and for those
 * who manage it the registrations and waiting-list tables, redrawn by the server when
 * registrations change (every part of the page that shows them follows, not only the
 * counters). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const initial = JSON.parse(document.getElementById("session-initial").textContent);
  const rt = window.Lyceum && window.Lyceum.realtime;
  if (!rt) return;
  const topic = initial.session.topic;
  const seats = document.getElementById("seats-left");
  const waiting = document.getElementById("waitlist-length");
  const stale = document.getElementById("registrations-stale");
  // data-live="true" once the topic is subscribed (what arrives from then on is shown).
  const root = document.getElementById("session-live");
  rt.onStatus("resumed", (name) => {
    if (name === topic && root) root.dataset.live = "true";
  });
  rt.subscribe(topic, {since: initial.last_event});
  // The register button: "Register" while seats are left, "Join the waiting list" once full.
  const register = document.querySelector("[data-testid=register]");
  rt.on(topic, "session.seats", (data) => {
    if (seats) seats.textContent = data.seats_left;
    if (waiting) waiting.textContent = data.waitlist_length;
    if (register) {
      register.querySelector("[data-when-open]").hidden = data.seats_left === 0;
      register.querySelector("[data-when-full]").hidden = data.seats_left !== 0;
    }
  });
  // The tables (managers only): fetched again from the server, which renders them as on
  // the page (names, statuses, actions). One request at a time; changes that arrive
  // meanwhile are fetched once it is done. If it fails, a hint offers a reload.
  const tables = document.getElementById("registrations-live");
  let loading = false, again = false;
  async function redrawTables() {
    if (!tables) return;
    if (loading) { again = true; return; }
    loading = true;
    try {
      const response = await fetch(tables.dataset.src, {credentials: "same-origin"});
      if (!response.ok) throw new Error(String(response.status));
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      tables.replaceChildren(...html.body.childNodes);
    } catch (error) {
      if (stale) stale.hidden = false;
    } finally {
      loading = false;
      if (again) { again = false; redrawTables(); }
    }
  }
  for (const type of ["registration.created", "registration.cancelled", "registration.promoted",
    "registration.offered", "waitlist.reordered", "session.cancelled", "session.completed"]) {
    rt.on(topic, type, redrawTables);
  }
  // The session ended (the completion job): it says so and offers no more registering or
  // cancelling (the server refuses them now anyway).
  const over = () => {
    const tag = document.getElementById("session-status");
    if (tag) {
      tag.textContent = gettext("Completed");
      tag.hidden = false;
    }
    const note = document.getElementById("session-over");
    if (note) note.hidden = false;
    for (const form of document.querySelectorAll("form[data-closes-when-over]")) form.remove();
  };
  rt.on(topic, "session.completed", over);
  rt.on(topic, "session.changed", (data) => {
    if (data.status === "completed") return over();
    Lyceum.toast && Lyceum.toast(gettext("This session was changed."), window.location.pathname);
  });
  rt.on(`hub.user.${initial.user}`, "sessions.position", (data) => {
    if (data.session !== initial.session.id) return;
    const status = document.getElementById("my-status");
    const position = document.getElementById("my-position");
    if (data.status === "confirmed") {
      if (status) status.textContent = gettext("A seat is yours: you are registered.");
    } else if (data.status === "offered") {
      // The offer comes with accept / decline buttons: show them.
      if (status) status.textContent = gettext("A seat is offered to you.");
      window.location.reload();
    } else if (data.status === "cancelled") {
      if (status) status.textContent = gettext("Your registration is cancelled.");
    } else if (position && data.position) {
      position.textContent = data.position;
    }
  });
  // Offer deadlines in the reader's own zone, as every date (Lyceum.formatDate).
  for (const el of document.querySelectorAll("time[data-testid=offer-expires]")) {
    const text = window.Lyceum.formatDate(el.getAttribute("datetime"));
    if (text) el.textContent = text;
  }
})();
