/* A session's page: seats left and waiting-list length live (topic sessions.session.<id>),
 * and the learner's own waiting-list position (hub.user.<id>, sessions.position). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const initial = JSON.parse(document.getElementById("session-initial").textContent);
  const rt = window.Lyceum && window.Lyceum.realtime;
  if (!rt) return;
  const topic = initial.session.topic;
  const seats = document.getElementById("seats-left");
  const waiting = document.getElementById("waitlist-length");
  rt.subscribe(topic, {since: initial.last_event});
  rt.on(topic, "session.seats", (data) => {
    if (seats) seats.textContent = data.seats_left;
    if (waiting) waiting.textContent = data.waitlist_length;
  });
  rt.on(`hub.user.${initial.user}`, "sessions.position", (data) => {
    if (data.session !== initial.session.id) return;
    const position = document.getElementById("my-position");
    if (data.status === "confirmed") {
      const status = document.getElementById("my-status");
      if (status) status.textContent = gettext("A seat is yours: you are registered.");
    } else if (position && data.position) {
      position.textContent = data.position;
    }
  });
})();
