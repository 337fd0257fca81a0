/* A leaderboard page: on board.changed (coalesced by the server) refetch the board (top,
   podium, my rank and my neighbours). The board picker and periods are plain links. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const root = document.getElementById("leaderboard");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;

  const me = Number(root.dataset.me);

  function item(entry, cls) {
    const li = document.createElement("li");
    if (cls) li.className = cls;
    if (entry.user.id === me) {
      li.classList.add("mine");
      if (!cls) li.setAttribute("aria-current", "true");
    }
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = entry.rank + " ";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = entry.score;
    li.append(rank, document.createTextNode(entry.user.display_name + " "), score);
    return li;
  }

  async function refresh() {
    const response = await fetch(root.dataset.api + "?n=20", {credentials: "same-origin"});
    if (!response.ok) return;
    const board = await response.json();
    root.querySelector(".podium").replaceChildren(
      ...board.podium.map((e) => item(e, "podium-" + e.rank)));
    root.querySelector("[data-testid=board-list]").replaceChildren(...board.top.map((e) => item(e)));
    root.querySelector("[data-testid=neighbours]").replaceChildren(
      ...board.neighbours.map((e) => item(e)));
    const mine = root.querySelector(".me");
    const interpolate = window.interpolate || ((f) => f);
    if (board.me.hidden) {
      mine.textContent = gettext("You are hidden from public rankings.") + " " +
        interpolate(gettext("Your points: %s"), [board.me.score]);
    } else if (board.me.rank) {
      mine.textContent = interpolate(gettext("Your rank: %s (%s points)"), [board.me.rank, board.me.score]);
    } else {
      mine.textContent = gettext("No points on this board yet.");
    }
  }

  let pending = false;
  Lyceum.realtime.subscribe(root.dataset.topic);
  Lyceum.realtime.on(root.dataset.topic, "board.changed", () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; refresh(); }, 100);
  });
  Lyceum.realtime.onStatus("resumed", refresh);
})();
