/* The host's screen: players as they join, each question with its countdown, the live
 * answer distribution (games.host.<id>: answers.count, coalesced by the server), the
 * reveal and the podium after each question (games.game.<id>: question.closed), every
 * player's result and total in the player list (games.host.<id>: question.results). A
 * reconnect resumes the game's topic with `since` and refetches the state. */
(function () {
  "use strict";
  const G = window.LyceumGames;
  const Lyceum = window.Lyceum || {};
  const root = document.getElementById("game-host");
  if (!root || !G || !Lyceum.realtime) return;
  const {gettext, interpolate} = G;
  const rt = Lyceum.realtime;
  let state = JSON.parse(document.getElementById("game-state").textContent);
  const topic = state.topic;
  const hostTopic = state.host_topic;
  const $ = (s) => root.querySelector(s);
  const status = $("[data-testid=game-status]");
  const nextButton = $("#host-next");
  const closeButton = $("#host-close");
  const finishButton = $("#host-finish");
  const questionBox = $("[data-testid=host-question]");
  const dist = $("[data-testid=distribution]");
  const answered = $("[data-testid=answered-count]");
  const countdownEl = $("[data-testid=countdown]");
  const podiumBox = $("[data-testid=podium]");
  const players = $("[data-testid=players]");
  let choices = [];
  let playerCount = state.players || 0;
  let lastIndex = -1;

  const say = (t) => { status.textContent = t; };

  function setPlayers(n) {
    playerCount = n;
    $("[data-testid=player-count]").textContent = interpolate(gettext("%s players"), [n]);
  }

  function addPlayer(user, team) {
    if (players.querySelector('[data-user="' + user.id + '"]')) return;
    const li = document.createElement("li");
    li.dataset.user = user.id;
    li.textContent = user.name + (team ? " · " + gettext(team) : "");
    const result = document.createElement("span");
    result.className = "muted player-result";
    result.dataset.testid = "player-result";
    li.append(" ", result);
    players.append(li);
  }

  // Every player's result of a question ({user id: [points, total, streak, answered,
  // correct, rank]}): each one's total, and whether they were right, in the player list.
  function showResults(results) {
    for (const li of players.querySelectorAll("li[data-user]")) {
      const row = (results || {})[li.dataset.user];
      const out = li.querySelector(".player-result");
      if (!row || !out) continue;
      li.dataset.result = !row[3] ? "none" : row[4] ? "correct" : "wrong";
      out.textContent = interpolate(gettext("%s points"), [row[1]]) + (row[4] ? " ✓" : "");
    }
  }

  function drawDistribution(counts, correct) {
    dist.replaceChildren();
    const total = Object.values(counts || {}).reduce((a, b) => a + b, 0) || 1;
    for (const c of choices) {
      const li = document.createElement("li");
      li.dataset.choice = c.id;
      const n = (counts || {})[String(c.id)] || 0;
      const label = document.createElement("span");
      label.className = "dist-label";
      label.textContent = c.text;
      const bar = document.createElement("span");
      bar.className = "dist-bar";
      const fill = document.createElement("span");
      fill.style.width = Math.round((100 * n) / total) + "%";
      bar.append(fill);
      const count = document.createElement("strong");
      count.className = "dist-count";
      count.dataset.testid = "dist-count";
      count.textContent = n;
      li.append(label, bar, count);
      if (Array.isArray(correct) && correct.includes(c.id)) {
        li.classList.add("is-correct");
        label.textContent = "✓ " + c.text;
      }
      dist.append(li);
    }
    if (!choices.length && counts) {  // a numeric question: the numbers given
      for (const [value, n] of Object.entries(counts)) {
        const li = document.createElement("li");
        li.textContent = value + ": " + n;
        dist.append(li);
      }
    }
  }

  function setAnswered(n, of) {
    answered.textContent = interpolate(gettext("%s of %s answered"), [n, of]);
  }

  function showQuestion(q) {
    G.syncClock(q.server_now);
    lastIndex = q.index;
    choices = q.question.choices || [];
    questionBox.hidden = false;
    podiumBox.hidden = true;
    $("[data-testid=explanation]").hidden = true;
    $("[data-testid=question-number]").textContent = G.questionLabel(q.index, q.count);
    $("[data-testid=question-text]").textContent = q.question.text;
    drawDistribution({}, null);
    setAnswered(0, playerCount);
    G.countdown(countdownEl, q.deadline, () => {
      rt.act(hostTopic, "state").then(apply).catch(() => {});
    });
    nextButton.hidden = true;
    closeButton.hidden = false;
    say(gettext("Question open"));
  }

  function showReveal(data) {
    G.stopCountdown(countdownEl);
    if (data.detail) {
      choices = data.detail.choices || [];
      questionBox.hidden = false;
      $("[data-testid=question-number]").textContent = G.questionLabel(data.index, data.count);
      $("[data-testid=question-text]").textContent = data.detail.text;
    }
    lastIndex = data.index;
    drawDistribution(data.distribution.counts, data.correct);
    setAnswered(data.distribution.answered, data.distribution.players);
    if (data.explanation) {
      const ex = $("[data-testid=explanation]");
      ex.textContent = data.explanation;
      ex.hidden = false;
    }
    showPodium(data.podium, data.team_standings);
    if (data.results) showResults(data.results);  // a replayed or refetched reveal
    closeButton.hidden = true;
    nextButton.hidden = false;
    nextButton.querySelector(".label").textContent = data.last ? gettext("Final podium") : gettext("Next question");
    say(gettext("Time is up"));
  }

  function showPodium(rows, teams) {
    podiumBox.hidden = false;
    G.podium($("[data-testid=podium-list]"), rows);
    const teamBox = $("[data-testid=teams]");
    teamBox.hidden = !(teams && teams.length);
    if (teams && teams.length) G.podium(teamBox.querySelector("ol"), teams);
  }

  function showFinished(data) {
    G.stopCountdown(countdownEl);
    questionBox.hidden = true;
    showPodium(data.podium, data.team_standings);
    nextButton.hidden = true;
    closeButton.hidden = true;
    finishButton.hidden = true;
    say(gettext("Game over"));
    root.dataset.status = "finished";
  }

  function apply(s) {
    if (!s) return;
    state = s;
    setPlayers(s.players);
    root.dataset.status = s.status;
    if (s.status === "lobby") {
      nextButton.hidden = false;
      closeButton.hidden = true;
      say(gettext("Waiting for players"));
    } else if (s.status === "question" && s.current) {
      if (s.current.index !== lastIndex || questionBox.hidden) showQuestion(s.current);
      if (s.distribution) {
        drawDistribution(s.distribution.counts, null);
        setAnswered(s.distribution.answered, s.distribution.players);
      }
    } else if (s.status === "reveal" && s.reveal) {
      showReveal(s.reveal);
    } else if (s.status === "finished") {
      showFinished({podium: s.podium, team_standings: s.team_standings});
    }
  }

  async function hostAct(action) {
    try {
      apply(await rt.act(hostTopic, action));
    } catch (error) {
      say((error && error.message) || gettext("Something went wrong."));
    }
  }

  nextButton.addEventListener("click", () => hostAct("next"));
  closeButton.addEventListener("click", () => hostAct("close"));
  finishButton.addEventListener("click", () => {
    if (window.confirm(gettext("End the game now?"))) hostAct("finish");
  });

  rt.on(topic, "question.opened", showQuestion);
  rt.on(topic, "question.closed", showReveal);
  rt.on(topic, "game.finished", showFinished);
  rt.on(hostTopic, "answers.count", (d) => {
    if (d.index !== lastIndex) return;
    drawDistribution(d.counts, null);
    setAnswered(d.answered, d.players);
  });
  rt.on(hostTopic, "question.results", (d) => showResults(d.results));
  rt.on(hostTopic, "player.joined", (d) => {
    addPlayer(d.user, d.team);
    setPlayers(Math.max(playerCount, d.players));
  });
  rt.onStatus("resumed", () => rt.act(hostTopic, "state").then(apply).catch(() => {}));
  rt.subscribe(topic, {since: state.last_event_id});
  rt.subscribe(hostTopic);
  for (const row of state.player_list || []) addPlayer(row.user, row.team);
  if (state.current) choices = state.current.question.choices || [];
  apply(state);
})();
