/* The duel lobby: challenge, accept / decline / cancel, matchmaking, lists kept live from
 * the user's lobby topic (leaderboards.lobby.<id>, whose presence also tells the server
 * we are online for a live duel). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, a) => f.replace(/%s/g, () => a.shift()));
  const root = document.getElementById("duel-lobby");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;
  const rt = Lyceum.realtime;
  const me = Number(root.dataset.me);
  const course = Number(root.dataset.course);
  const csrf = () => (Lyceum.shell ? Lyceum.shell.csrfToken() : "");

  async function call(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      let message = error.message || gettext("Something went wrong.");
      if (error.details) message = Object.values(error.details).flat().join(" ") || message;
      Lyceum.toast && Lyceum.toast(message);
      throw new Error(message);
    }
    return data;
  }

  function other(duel) {
    return duel.challenger.id === me ? duel.opponent : duel.challenger;
  }

  function button(label, testid, onclick, primary) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = primary ? "primary" : "small-button";
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener("click", onclick);
    return b;
  }

  function row(duel) {
    const li = document.createElement("li");
    li.dataset.duel = duel.id;
    if (duel.status !== "pending" && duel.status !== "active") {
      // A closed duel: its result, worded by the server for this reader ("You won 1400–800
      // against Lina"), the same sentence the page was rendered with.
      const a = document.createElement("a");
      a.href = duel.url;
      a.textContent = duel.result_text;
      li.append(a);
      return li;
    }
    const name = document.createElement("span");
    name.textContent = other(duel).display_name;
    li.append(name, " ");
    if (duel.status === "pending" && duel.opponent.id === me) {
      li.append(
        button(gettext("Accept"), "accept", () => act(duel, "accept"), true), " ",
        button(gettext("Decline"), "decline", () => act(duel, "decline")));
    } else if (duel.status === "pending") {
      const wait = document.createElement("span");
      wait.className = "muted";
      wait.textContent = gettext("waiting for an answer") + " ";
      li.append(wait, button(gettext("Cancel"), "cancel", () => act(duel, "cancel")));
    } else {
      const a = document.createElement("a");
      a.href = duel.url;
      a.className = "button";
      a.dataset.testid = "play";
      a.textContent = duel.mode === "live" ? gettext("Join the duel") : gettext("Play my turn");
      li.append(a);
    }
    return li;
  }

  function fill(id, duels, empty) {
    const list = document.getElementById(id);
    const rows = duels.map(row);
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = empty;
      rows.push(li);
    }
    list.replaceChildren(...rows);
  }

  async function refresh() {
    const duels = await call("GET", root.dataset.api + "?course=" + course);
    fill("incoming", duels.filter((d) => d.status === "pending" && d.opponent.id === me), gettext("No challenge for you."));
    fill("outgoing", duels.filter((d) => d.status === "pending" && d.challenger.id === me), gettext("None."));
    fill("active", duels.filter((d) => d.status === "active"), gettext("None."));
    fill("recent", duels.filter((d) => d.status !== "pending" && d.status !== "active").slice(0, 10), gettext("No duel yet."));
  }

  async function act(duel, name) {
    const state = await call("POST", root.dataset.api + duel.id + "/" + name + "/");
    if (name === "accept") window.location.assign(state.url);
    else refresh();
  }

  const form = document.getElementById("challenge-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await call("POST", root.dataset.api, {course: course, opponent: Number(form.opponent.value)});
      Lyceum.toast && Lyceum.toast(gettext("Challenge sent."));
      refresh();
    });
  }

  const queueStatus = document.getElementById("queue-status");
  const leave = document.getElementById("leave-queue");
  function waiting(on) {
    queueStatus.textContent = on ? gettext("Waiting for an opponent…") : "";
    leave.hidden = !on;
  }
  document.getElementById("matchmaking").addEventListener("click", async () => {
    const reply = await call("POST", root.dataset.queueApi, {course: course});
    if (reply.waiting) waiting(true);
    else window.location.assign(reply.duel.url);
  });
  leave.addEventListener("click", async () => {
    await call("DELETE", root.dataset.queueApi + "?course=" + course);
    waiting(false);
  });
  waiting(root.dataset.inQueue === "1");

  const topic = root.dataset.topic;
  rt.subscribe(topic);
  for (const type of ["challenge.received", "challenge.sent", "challenge.updated", "duel.updated", "duel.finished"]) {
    rt.on(topic, type, (duel) => {
      if (type === "challenge.received") {
        Lyceum.toast && Lyceum.toast(interpolate(gettext("%s challenges you to a duel."), [duel.challenger.display_name]));
      }
      refresh();
    });
  }
  rt.on(topic, "duel.started", (duel) => {
    // A live duel (or one found for me) starts: both go to the arena at once.
    if (duel.mode === "live" || duel.matchmade) window.location.assign(duel.url);
    else refresh();
  });
  rt.onStatus("resumed", (resumed) => { if (resumed === topic) refresh(); });
  refresh();
})();
