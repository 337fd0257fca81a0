/* A leaderboard page: on board.changed (coalesced by the server) refetch the board (top,
   podium, my rank and my neighbours). The board picker and periods are plain links. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const root = document.getElementById("leaderboard");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;

  const me = Number(root.dataset.me);
  const interpolate = window.interpolate || ((f, a) => f.replace("%s", a[0]));
  // Movement arrows: each row's rank against the rank it had when this board was last
  // seen in this tab (kept in sessionStorage per board), then against each live update.
  const memoryKey = "lyceum.board." + root.dataset.key;
  let seen = {};
  try { seen = JSON.parse(sessionStorage.getItem(memoryKey) || "{}"); } catch (e) { seen = {}; }

  function showMoves() {
    const now = {};
    root.querySelectorAll("[data-testid=board-list] li[data-user], [data-testid=neighbours] li[data-user]").forEach((li) => {
      const rank = Number(li.dataset.rank);
      now[li.dataset.user] = rank;
      const box = li.querySelector(".move");
      if (!box) return;
      const before = seen[li.dataset.user];
      box.replaceChildren();
      box.className = "move";
      if (!before || before === rank) return;
      const up = before > rank;
      const arrow = document.createElement("span");
      arrow.setAttribute("aria-hidden", "true");
      arrow.textContent = (up ? "▲" : "▼") + Math.abs(before - rank);
      const said = document.createElement("span");
      said.className = "sr-only";
      said.textContent = interpolate(
        up ? gettext("up %s places") : gettext("down %s places"), [Math.abs(before - rank)]);
      box.classList.add(up ? "up" : "down");
      box.append(arrow, said);
    });
    root.querySelectorAll(".podium li[data-user]").forEach((li) => { now[li.dataset.user] = Number(li.dataset.rank); });
    try { sessionStorage.setItem(memoryKey, JSON.stringify(now)); } catch (e) { /* private mode */ }
    return now;
  }

  function item(entry, cls) {
    const li = document.createElement("li");
    li.dataset.user = entry.user.id;
    li.dataset.rank = entry.rank;
    if (cls) li.className = cls;
    if (entry.user.id === me) {
      li.classList.add("mine");
      if (!cls) li.setAttribute("aria-current", "true");
    }
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = entry.user.display_name;
    if (cls) {  // the podium: a medal, the rank said, the points
      const medal = document.createElement("span");
      medal.className = "medal";
      medal.setAttribute("aria-hidden", "true");
      medal.textContent = entry.rank;
      const said = document.createElement("span");
      said.className = "sr-only";
      said.textContent = interpolate(gettext("Rank %s:"), [entry.rank]) + " ";
      const points = document.createElement("span");
      points.className = "score";
      points.textContent = interpolate(gettext("%s pts"), [entry.score]);
      li.append(medal, said, name, document.createTextNode(" "), points);
      return li;
    }
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = entry.rank;
    const move = document.createElement("span");
    move.className = "move";
    move.dataset.testid = "move";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = entry.score;
    li.append(rank, document.createTextNode(" "), name, document.createTextNode(" "), move,
      document.createTextNode(" "), score);
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
    seen = showMoves.last || {};  // arrows: against the ranks shown until now
    showMoves.last = showMoves();
    const mine = root.querySelector(".me");
    if (board.me.hidden) {
      mine.textContent = gettext("You are hidden from public rankings.") + " " +
        interpolate(gettext("Your points: %s"), [board.me.score]);
    } else if (board.me.rank) {
      mine.textContent = interpolate(gettext("Your rank: %s (%s points)"), [board.me.rank, board.me.score]);
    } else {
      mine.textContent = gettext("No points on this board yet.");
    }
  }

  showMoves.last = showMoves();
  let pending = false;
  Lyceum.realtime.subscribe(root.dataset.topic);
  Lyceum.realtime.on(root.dataset.topic, "board.changed", () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; refresh(); }, 100);
  });
  Lyceum.realtime.onStatus("resumed", refresh);
})();
