/* The wall screen: on board.changed (coalesced by the server) refetch the board and move
 * the rows with FLIP: measure where each row was, re-render, then slide each row from its
 * old place to its new one with a CSS transform transition. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const root = document.getElementById("wall");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;
  const list = root.querySelector(".wall-list");

  function row(entry) {
    const li = document.createElement("li");
    li.dataset.user = entry.user.id;
    li.dataset.score = entry.score;
    li.dataset.rank = entry.rank;
    li.className = "rank-" + entry.rank;
    for (const [cls, text] of [["rank", entry.rank], ["name", entry.user.display_name], ["move", ""], ["score", entry.score]]) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.append(span);
    }
    return li;
  }

  async function refresh() {
    const response = await fetch(root.dataset.api + "?n=15&around=0", {credentials: "same-origin"});
    if (!response.ok) return;
    const board = await response.json();
    // First: where each row is now, and its score.
    const before = new Map();
    list.querySelectorAll("li[data-user]").forEach((li) => {
      before.set(li.dataset.user, {
        top: li.getBoundingClientRect().top, score: li.dataset.score, rank: Number(li.dataset.rank)});
    });
    const rows = board.top.map(row);
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "muted empty";
      li.textContent = gettext("Nobody has points here yet.");
      rows.push(li);
    }
    list.replaceChildren(...rows);
    // Last, Invert, Play.
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    rows.forEach((li) => {
      const old = before.get(li.dataset.user);
      if (!old) return;
      if (old.score !== li.dataset.score) li.classList.add("bumped");
      const places = old.rank - Number(li.dataset.rank);
      if (places) {  // the movement arrow, said for screen readers too
        const box = li.querySelector(".move");
        box.classList.add(places > 0 ? "up" : "down");
        const arrow = document.createElement("span");
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = (places > 0 ? "▲" : "▼") + Math.abs(places);
        const said = document.createElement("span");
        said.className = "sr-only";
        const interpolate = window.interpolate || ((f, a) => f.replace("%s", a[0]));
        said.textContent = interpolate(
          places > 0 ? gettext("up %s places") : gettext("down %s places"), [Math.abs(places)]);
        box.append(arrow, said);
      }
      const dy = old.top - li.getBoundingClientRect().top;
      if (!dy || reduce) return;
      if (dy > 0) li.classList.add("moved-up");
      li.style.transform = "translateY(" + dy + "px)";
      li.style.transition = "none";
      requestAnimationFrame(() => {
        requestAnimationFrame(() => {
          li.style.transition = "transform .8s cubic-bezier(.2,.8,.2,1)";
          li.style.transform = "";
        });
      });
    });
    root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
  }

  let pending = false;
  Lyceum.realtime.subscribe(root.dataset.topic);
  Lyceum.realtime.on(root.dataset.topic, "board.changed", () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; refresh(); }, 100);
  });
  Lyceum.realtime.onStatus("resumed", (resumed) => { if (resumed === root.dataset.topic) refresh(); });
  document.getElementById("wall-fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
})();
