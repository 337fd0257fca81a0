/* Learning paths, live: the learner's own progress and new cycles (paths.progress and
 * paths.cycle on hub.user.<id>, which the shell already follows) and the manager's team
 * table (paths.team.<id>). */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  if (!Lyceum) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const status = document.getElementById("live-status");
  if (status) {
    rt.onStatus("open", () => { status.textContent = gettext("Live"); });
    rt.onStatus("close", () => { status.textContent = gettext("Reconnecting…"); });
  }
  // The server renders a card (cycle line, past cycles, item states, locks from the
  // path's rules): fetch this page (a GET that writes nothing) and swap in that path's
  // card, or the whole list for a path new to the page. No reload, so whatever else the
  // person has open stays; one fetch at a time, in order.
  let redrawing = Promise.resolve();
  function redraw(pathId) {
    redrawing = redrawing.then(() =>
      fetch(location.pathname, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
        .then((html) => {
          const fresh = new DOMParser().parseFromString(html, "text/html");
          const selector = '[data-testid=my-path][data-path="' + pathId + '"]';
          const card = fresh.querySelector(selector);
          const old = document.querySelector(selector);
          if (card && old) {
            old.replaceWith(document.importNode(card, true));
            return;
          }
          const list = fresh.getElementById("my-paths");
          const mine = document.getElementById("my-paths");
          if (list && mine) {
            mine.replaceChildren(...[...list.childNodes].map((n) => document.importNode(n, true)));
          }
        })
        .catch(() => {}));
  }
  function onMine(data) {
    const card = document.querySelector('[data-testid=my-path][data-path="' + data.path + '"]');
    if (!card) return;
    card.querySelector("progress").value = data.progress;
    card.querySelector(".pct").textContent = data.progress + " %";
    const done = new Set(data.done || []);
    const items = [...card.querySelectorAll("li[data-item]")];
    items.forEach((li) => { if (done.has(Number(li.dataset.item))) li.dataset.state = "done"; });
    // Unlocks depend on rules the server knows: redraw the card when one may change.
    if (items.some((li) => li.dataset.state === "locked")) redraw(data.path);
  }
  if (document.getElementById("my-paths")) {
    const topic = "hub.user." + document.body.dataset.userId;
    rt.on(topic, "paths.progress", onMine);
    // A new cycle opened (assigned again, a recertification window): redraw the card.
    rt.on(topic, "paths.cycle", (data) => redraw(data.path));
  }
  const table = document.getElementById("team-paths");
  if (table && table.dataset.topics) {
    table.dataset.topics.split(" ").filter(Boolean).forEach((topic) => {
      rt.subscribe(topic);
      const update = (data) => {
        const row = table.querySelector('tr[data-assignment="' + data.id + '"]');
        if (!row) return;
        row.querySelector(".pct").textContent = data.progress + " %";
        row.classList.toggle("overdue", !!data.overdue);
      };
      rt.on(topic, "path.progress", update);
      rt.on(topic, "path.overdue", update);
      rt.on(topic, "enrolment.overdue", addDue);
      rt.on(topic, "activity.overdue", addDue);
    });
  }
  // A course or an activity past its due date (the due sweep): a row of its own, built with
  // textContent (names and titles are people's text).
  function addDue(data) {
    const body = document.querySelector("#team-due tbody");
    if (!body || body.querySelector('tr[data-due="' + data.kind + "-" + data.id + '"]')) return;
    const empty = body.querySelector("tr[data-empty]");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.due = data.kind + "-" + data.id;
    row.className = "overdue";
    const who = document.createElement("th");
    who.scope = "row";
    who.textContent = data.name;
    const what = document.createElement("td");
    what.textContent = data.context ? data.title + " (" + data.context + ")" : data.title;
    const pct = document.createElement("td");
    pct.textContent = data.progress === null ? "" : data.progress + " %";
    const when = document.createElement("td");
    when.textContent = new Date(data.due_at).toLocaleDateString() + " ";
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.dataset.testid = "overdue";
    tag.textContent = gettext("Overdue");
    when.appendChild(tag);
    row.append(who, what, pct, when);
    body.appendChild(row);
  }
})();
