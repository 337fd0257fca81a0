/* The player's phone screen: join on open (an action, never the page's GET), each question
 * with its countdown and big answer buttons, the podium after each question
 * (games.game.<id>) and my result, rank and points (on my own hub.user.<id>: nobody else's
 * result reaches this page), my streak bonus switch. Nothing here knows the answer before
 * the reveal. A reconnect resumes with `since` and refetches the state: the score stays. */
(function () {
  "use strict";
  const G = window.LyceumGames;
  const Lyceum = window.Lyceum || {};
  const root = document.getElementById("game-play");
  if (!root || !G || !Lyceum.realtime) return;
  const {gettext, interpolate} = G;
  const rt = Lyceum.realtime;
  const me = Number(root.dataset.me);
  const gameId = Number(root.dataset.game);
  let state = JSON.parse(document.getElementById("game-state").textContent);
  const topic = state.topic;
  const $ = (s) => root.querySelector(s);
  const status = $("[data-testid=game-status]");
  const box = $("[data-testid=play-question]");
  const choicesEl = $("[data-testid=choices]");
  const numeric = $(".game-numeric");
  const multi = $(".game-submit-multi");
  const countdownEl = $("[data-testid=countdown]");
  const result = $("[data-testid=my-result]");
  const podiumBox = $("[data-testid=podium]");
  const toggle = $("[data-testid=streak-toggle]");
  let current = null;
  let answeredIndex = -1;

  const say = (t) => { status.textContent = t; };

  function showMe(p) {
    if (!p) return;
    $("[data-testid=my-score]").textContent = interpolate(gettext("%s points"), [p.score]);
    $("[data-testid=my-streak]").textContent = interpolate(gettext("Streak: %s"), [p.streak]);
    const team = $("[data-testid=my-team]");
    team.hidden = !p.team;
    if (p.team) team.textContent = interpolate(gettext("Team %s"), [gettext(p.team)]);
    toggle.checked = p.streak_bonus;
  }

  function lock() {
    choicesEl.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    numeric.querySelectorAll("input, button").forEach((b) => { b.disabled = true; });
    multi.disabled = true;
  }

  // A busy server answers "overloaded" (or the reply times out): the answer is sent again
  // after its retry_after, with jitter, while the question is still open. It is counted
  // once whatever happens (a repeat is a "conflict", which means it is in).
  const RETRY = new Set(["overloaded", "unavailable", "rate_limited", "timeout", "offline"]);

  async function send(answer) {
    if (!current || answeredIndex === current.index) return;
    const q = current;
    lock();
    say(gettext("Sending…"));
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        await rt.act(topic, "answer", {index: q.index, answer: answer});
        answeredIndex = q.index;
        if (current === q) say(gettext("Answer sent. Wait for the reveal…"));
        return;
      } catch (error) {
        if (error && error.code === "conflict") {
          answeredIndex = q.index;
          if (current === q) say(gettext("Answer sent. Wait for the reveal…"));
          return;
        }
        if (!error || !RETRY.has(error.code) || current !== q) {
          if (current === q) say((error && error.message) || gettext("Something went wrong."));
          return;
        }
        const base = (typeof error.retryAfter === "number" ? error.retryAfter : 1) * 1000;
        await new Promise((resolve) => setTimeout(resolve, base + Math.random() * base));
        if (current !== q) return;  // closed meanwhile
      }
    }
  }

  function showQuestion(q, myAnswer) {
    G.syncClock(q.server_now);
    current = q;
    box.hidden = false;
    result.hidden = true;
    podiumBox.hidden = true;
    $("[data-testid=question-number]").textContent = G.questionLabel(q.index, q.count);
    $("[data-testid=question-text]").textContent = q.question.text;
    choicesEl.replaceChildren();
    const kind = q.question.kind;
    const picked = new Set();
    numeric.hidden = kind !== "numeric";
    multi.hidden = kind !== "multiple";
    multi.disabled = false;
    numeric.querySelectorAll("input, button").forEach((b) => { b.disabled = false; });
    (q.question.choices || []).forEach((c, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn game-choice game-choice-" + (i % 4);
      b.dataset.testid = "choice";
      b.textContent = c.text;
      b.addEventListener("click", () => {
        if (kind === "multiple") {
          if (picked.has(c.id)) picked.delete(c.id); else picked.add(c.id);
          b.setAttribute("aria-pressed", picked.has(c.id) ? "true" : "false");
        } else {
          send(c.id);
        }
      });
      if (kind === "multiple") b.setAttribute("aria-pressed", "false");
      choicesEl.append(b);
    });
    multi.onclick = null;
    multi.addEventListener("click", () => { if (picked.size) send(Array.from(picked)); }, {once: true});
    if (myAnswer !== null && myAnswer !== undefined) {
      answeredIndex = q.index;
      lock();
      say(gettext("Answer sent. Wait for the reveal…"));
    } else {
      say(gettext("Answer now!"));
    }
    G.countdown(countdownEl, q.deadline, () => { lock(); say(gettext("Time is up")); });
  }

  numeric.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = numeric.querySelector("input").value;
    if (value !== "") send(Number(value));
  });

  // My result of each question comes on my own topic (games.result on hub.user.<me>), just
  // before the reveal; a replayed or refetched reveal carries it as `me`.
  const myResults = new Map();
  let revealIndex = -1;

  function showMine(mine) {
    const title = $("[data-testid=result-title]");
    const detail = $("[data-testid=result-detail]");
    const rank = $("[data-testid=my-rank]");
    if (!mine || !mine.answered) {
      title.textContent = gettext("No answer");
      detail.textContent = "";
    } else if (mine.correct) {
      title.textContent = gettext("Correct!");
      detail.textContent = interpolate(gettext("+%s points"), [mine.points]);
    } else {
      title.textContent = gettext("Not this time");
      detail.textContent = "";
    }
    rank.hidden = !mine;
    if (!mine) return;
    rank.textContent = interpolate(gettext("Rank %s of %s"), [mine.rank, mine.players]);
    showMe({...(state.me || {}), score: mine.score, streak: mine.streak, streak_bonus: toggle.checked, team: state.me && state.me.team});
    if (state.me) { state.me.score = mine.score; state.me.streak = mine.streak; }
  }

  rt.on("hub.user." + me, "games.result", (mine) => {
    if (mine.game !== gameId) return;
    myResults.set(mine.index, mine);
    if (mine.index === revealIndex) showMine(mine);
  });

  function showReveal(data) {
    G.stopCountdown(countdownEl);
    lock();
    current = null;
    box.hidden = true;
    result.hidden = false;
    revealIndex = data.index;
    if (data.me) myResults.set(data.index, data.me);
    showMine(myResults.get(data.index));
    podiumBox.hidden = false;
    G.podium($("[data-testid=podium-list]"), data.podium, me);
    say(data.last ? gettext("Last question done") : gettext("Next question soon"));
  }

  function showFinished(data) {
    G.stopCountdown(countdownEl);
    box.hidden = true;
    podiumBox.hidden = false;
    G.podium($("[data-testid=podium-list]"), data.podium, me);
    say(gettext("Game over"));
    root.dataset.status = "finished";
  }

  function apply(s) {
    if (!s) return;
    state = s;
    root.dataset.status = s.status;
    showMe(s.me);
    if (s.status === "lobby") say(gettext("You are in! Wait for the host to start."));
    else if (s.status === "question" && s.current) showQuestion(s.current, s.current.my_answer);
    else if (s.status === "reveal" && s.reveal) showReveal(s.reveal);
    else if (s.status === "finished") showFinished(s);
  }

  toggle.addEventListener("change", async () => {
    try {
      const p = await rt.act(topic, "streak", {enabled: toggle.checked});
      showMe(p);
    } catch (error) {
      say((error && error.message) || gettext("Something went wrong."));
    }
  });

  rt.on(topic, "question.opened", (q) => showQuestion(q, null));
  rt.on(topic, "question.closed", showReveal);
  rt.on(topic, "game.finished", showFinished);
  const refresh = () => rt.act(topic, state.me ? "state" : "join").then(apply).catch((error) => {
    say((error && error.message) || gettext("Something went wrong."));
  });
  rt.onStatus("resumed", refresh);
  rt.subscribe(topic, {since: state.last_event_id}).then(refresh);
  apply(state);
})();
