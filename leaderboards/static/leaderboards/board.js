/* A leaderboard page: on board.changed (coalesced by the server) refetch the board. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const root = document.getElementById("leaderboard");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;

  function item(entry, cls) {
    const li = document.createElement("li");
    if (cls) li.className = cls;
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
    root.querySelector(".board-list").replaceChildren(...board.top.map((e) => item(e)));
    const me = root.querySelector(".me");
    if (board.me.hidden) me.textContent = gettext("You are hidden from public rankings.");
    else if (board.me.rank) me.textContent = (window.interpolate || ((f) => f))(gettext("Your rank: %s (%s points)"), [board.me.rank, board.me.score]);
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
