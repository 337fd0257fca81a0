/* Shared by the host's and the player's game screens: the server clock, the countdown,
 * the podium list. The server owns time: each question carries its deadline and the
 * server's "now", so countdowns agree on every screen. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, a) => f.replace(/%s/g, () => a.shift()));
  let offset = 0;
  let timer = null;

  function syncClock(serverNow) {
    if (serverNow) offset = Date.parse(serverNow) - Date.now();
  }

  /** Counts down to ``deadline`` (ISO) in ``el``; calls ``onZero`` once at 0. */
  function countdown(el, deadline, onZero) {
    clearInterval(timer);
    if (!deadline) { el.textContent = ""; return; }
    const end = Date.parse(deadline);
    let fired = false;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - (Date.now() + offset)) / 1000));
      el.textContent = interpolate(gettext("%s s"), [left]);
      if (left === 0 && !fired) {
        fired = true;
        clearInterval(timer);
        if (onZero) onZero();
      }
    };
    tick();
    timer = setInterval(tick, 250);
  }

  function stopCountdown(el) {
    clearInterval(timer);
    if (el) el.textContent = "";
  }

  function podium(list, rows, me) {
    list.replaceChildren();
    for (const row of rows || []) {
      const li = document.createElement("li");
      li.dataset.testid = "podium-row";
      if (me && row.user && row.user.id === me) li.classList.add("is-me");
      const name = document.createElement("span");
      name.className = "podium-name";
      name.textContent = row.user ? row.user.name : row.team;
      const score = document.createElement("strong");
      score.className = "podium-score";
      score.textContent = row.score;
      li.append(name, score);
      if (row.user && row.team) {
        const team = document.createElement("span");
        team.className = "muted";
        team.textContent = " · " + gettext(row.team);
        name.append(team);
      }
      list.append(li);
    }
  }

  function questionLabel(index, count) {
    return interpolate(gettext("Question %s of %s"), [index + 1, count]);
  }

  window.LyceumGames = {syncClock, countdown, stopCountdown, podium, questionLabel, gettext, interpolate};
})();
