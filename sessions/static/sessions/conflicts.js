/* Coordinators' conflicts page: each space's list follows sessions.conflicts.<space>; on
   conflicts.changed it refetches the list (REST) and redraws it. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const rt = window.Lyceum && window.Lyceum.realtime;
  if (!rt) return;

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function draw(box, conflicts) {
    const list = document.createElement("ul");
    list.className = "conflicts";
    list.dataset.testid = "conflicts";
    for (const c of conflicts) {
      const item = document.createElement("li");
      item.dataset.kind = c.type;
      if (c.type === "resource") {
        const name = document.createElement("strong");
        name.textContent = c.booking.label;
        item.append(name, ": ", link(`/sessions/${c.booking.session}/`, c.booking.title), " " + c.booking.starts_at);
        for (const other of c.with) {
          item.append(document.createElement("br"), gettext("overlaps") + " ");
          if (other.session) item.append(link(`/sessions/${other.session}/`, other.title));
          else item.append(gettext("time off") + (other.title ? ` (${other.title})` : ""));
          item.append(" " + other.starts_at);
        }
        if (c.outside_hours) item.append(document.createElement("br"), gettext("outside their working hours"));
        const why = document.createElement("span");
        why.className = "muted";
        why.textContent = `${gettext("Accepted by")} ${c.by}: “${c.booking.override_reason}”`;
        item.append(document.createElement("br"), why);
      } else {
        const name = document.createElement("strong");
        name.textContent = c.user;
        item.append(name, " " + gettext("is booked twice:") + " ");
        c.sessions.forEach((s, i) => {
          if (i) item.append(", ");
          item.append(link(`/sessions/${s.id}/`, s.title));
        });
      }
      list.append(item);
    }
    if (!conflicts.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = gettext("No conflicts.");
      list.append(none);
    }
    box.replaceChildren(list);
  }

  for (const section of document.querySelectorAll("[data-topic]")) {
    const topic = section.dataset.topic;
    const box = section.querySelector("[data-conflicts]");
    const refresh = () =>
      fetch(section.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((data) => { draw(box, data); section.dataset.updated = String(Date.now()); })
        .catch(() => {});
    rt.subscribe(topic);
    rt.on(topic, "conflicts.changed", refresh);
    // After a reconnect what changed meanwhile is unknown (ephemeral events): refetch.
    rt.onStatus("resumed", (name) => { if (name === topic) { section.dataset.live = "true"; refresh(); } });
  }
})();
