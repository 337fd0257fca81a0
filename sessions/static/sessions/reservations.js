/* The session page's "Reserved by managers" table (those who manage the session): it
   follows sessions.reservations.<id>; reservations.changed carries the whole list. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const rt = window.Lyceum && window.Lyceum.realtime;
  const section = document.querySelector("[data-testid=reservations][data-topic]");
  if (!rt || !section) return;
  const body = section.querySelector("[data-reservations]");
  const format = (iso) => (window.Lyceum.formatDate ? window.Lyceum.formatDate(iso, "datetime") : iso);

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function draw(reservations) {
    const rows = reservations.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.reservation = String(r.id);
      const held = cell(String(r.held));
      held.dataset.held = "";
      const deadline = document.createElement("td");
      const time = document.createElement("time");
      time.dateTime = r.deadline;
      time.textContent = format(r.deadline);
      deadline.append(time);
      if (r.released_at) deadline.append(" · " + gettext("released"));
      tr.append(cell(r.manager.name), held, cell(String(r.seats)),
        cell(r.named.map((p) => (p.awaiting_approval
          ? interpolate(gettext("%s (awaiting approval)"), [p.name]) : p.name)).join(", ")),
        deadline);
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell(gettext("No reservations."));
      td.colSpan = 5;
      td.className = "muted";
      tr.append(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    section.dataset.updated = String(Date.now());
  }

  const topic = section.dataset.topic;
  rt.subscribe(topic);
  rt.on(topic, "reservations.changed", (data) => draw(data.reservations || []));
  rt.onStatus("resumed", (name) => { if (name === topic) section.dataset.live = "true"; });
})();
