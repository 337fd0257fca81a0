/* The duel arena. The server owns the clock: each question carries its server deadline
 * and the server's "now", so the countdown runs on server time. Live: question.upcoming
 * announces the next question (its timing, never its text) and the page counts down;
 * question.opened brings the text when its clock starts, at the same moment for both;
 * question.closed reveals the answer. Asynchronous:
 * "ready" opens my next question, my answer's reply reveals it. A reconnect resumes the
 * topic with `since` and refetches the state. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, a) => f.replace(/%s/g, () => a.shift()));
  const root = document.getElementById("duel-arena");
  const Lyceum = window.Lyceum || {};
  if (!root || !Lyceum.realtime) return;
  const rt = Lyceum.realtime;
  const me = Number(root.dataset.me);
  let state = JSON.parse(document.getElementById("duel-state").textContent);
  const topic = state.topic;
  const $ = (sel) => root.querySelector(sel);
  const status = $(".arena-status");
  const box = $(".arena-question");
  const nextButton = $("#arena-next");
  let offset = 0;          // server time - local time, in ms
  let current = null;      // the open question payload
  let upcoming = null;     // the announced question (no text) while it counts down
  let answeredIndex = -1;  // the index I answered
  let timer = null;
  let nudged = -1;         // the index we asked the server about after its deadline
  let nudgedOpen = -1;     // the index we asked the server about after its opens_at
  let waitPoll = null;     // the next "ready" while a live duel waits for its first question

  function syncClock(serverNow) {
    if (serverNow) offset = Date.parse(serverNow) - Date.now();
  }
  const serverNow = () => Date.now() + offset;

  function say(text) { status.textContent = text; }

  function opponentId() {
    return state.challenger.id === me ? state.opponent.id : state.challenger.id;
  }

  function setScores(scores) {
    for (const [uid, points] of Object.entries(scores || {})) {
      const el = root.querySelector('.arena-player[data-player="' + uid + '"] .points');
      if (el) el.textContent = points;
    }
  }

  function marks(answered) {
    root.querySelectorAll(".arena-player").forEach((el) => {
      el.querySelector(".answered-mark").hidden = !(answered || []).includes(Number(el.dataset.player));
    });
  }

  async function act(action, data) {
    try {
      return await rt.act(topic, action, data || {});
    } catch (error) {
      if (error && error.code !== "conflict") say(error.message || gettext("Something went wrong."));
      throw error;
    }
  }

  function choiceButtons(question) {
    const wrap = $(".arena-choices");
    const multiple = question.kind === "multiple";
    const buttons = question.choices.map((choice) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "arena-choice";
      b.dataset.testid = "choice";
      b.dataset.id = choice.id;
      b.textContent = choice.text;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => {
        if (multiple) {
          b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
        } else {
          b.setAttribute("aria-pressed", "true");
          answer(choice.id);
        }
      });
      return b;
    });
    wrap.replaceChildren(...buttons);
    $(".arena-submit-multi").hidden = !multiple;
    $(".arena-numeric").hidden = question.kind !== "numeric";
  }

  function lock(disabled) {
    root.querySelectorAll(".arena-choice, .arena-numeric input, .arena-numeric button, .arena-submit-multi")
      .forEach((el) => { el.disabled = disabled; });
  }

  function showUpcoming(q) {
    clearTimeout(waitPoll);
    // Count down to the question. After a reveal, the reveal stays on screen meanwhile.
    current = null;
    upcoming = q;
    syncClock(q.server_now);
    if ($(".arena-reveal").hidden) {
      box.hidden = false;
      $(".arena-result").hidden = true;
      nextButton.hidden = true;
      $(".arena-text").textContent = "";
      $("[data-testid=question-number]").textContent = interpolate(gettext("Question %s of %s"), [q.index + 1, q.count]);
      $(".arena-choices").replaceChildren();
      $(".arena-submit-multi").hidden = true;
      $(".arena-numeric").hidden = true;
    }
    marks([]);
    tick();
  }

  function showQuestion(q) {
    clearTimeout(waitPoll);
    current = q;
    upcoming = null;
    syncClock(q.server_now);
    box.hidden = false;
    $(".arena-result").hidden = true;
    nextButton.hidden = true;
    $(".arena-reveal").hidden = true;
    $(".arena-text").textContent = q.question.text;
    $("[data-testid=question-number]").textContent = interpolate(gettext("Question %s of %s"), [q.index + 1, q.count]);
    choiceButtons(q.question);
    const mine = q.my_answer;
    if (mine !== null && mine !== undefined) {
      answeredIndex = q.index;
      for (const id of [].concat(mine)) {
        const b = root.querySelector('.arena-choice[data-id="' + id + '"]');
        if (b) b.setAttribute("aria-pressed", "true");
      }
    }
    marks(q.answered);
    tick();
  }

  function tickUpcoming() {
    const opens = Date.parse(upcoming.opens_at);
    const now = serverNow();
    if (now < opens) {
      $(".countdown").textContent = "";
      say(interpolate(gettext("Get ready… %s"), [Math.ceil((opens - now) / 1000)]));
    } else if (nudgedOpen !== upcoming.index && now > opens + 1500) {
      // The server publishes the question when it opens; ask once in case it was missed.
      nudgedOpen = upcoming.index;
      refresh().catch(() => {});
    }
    timer = setTimeout(tick, 200);
  }

  function tick() {
    clearTimeout(timer);
    if (!current) {
      if (upcoming) tickUpcoming();
      return;
    }
    const opens = Date.parse(current.opens_at), deadline = Date.parse(current.deadline);
    const now = serverNow();
    const bar = $(".arena-bar-fill");
    if (now < opens) {
      $(".countdown").textContent = "";
      say(interpolate(gettext("Get ready… %s"), [Math.ceil((opens - now) / 1000)]));
      lock(true);
      bar.style.width = "100%";
    } else if (now < deadline) {
      const left = Math.ceil((deadline - now) / 1000);
      $(".countdown").textContent = interpolate(gettext("%s s"), [left]);
      bar.style.width = (100 * (deadline - now) / (deadline - opens)) + "%";
      const done = answeredIndex === current.index;
      lock(done);
      say(done ? gettext("Answer sent. Waiting for the question to close…") : gettext("Your answer?"));
    } else {
      $(".countdown").textContent = gettext("Time is up");
      bar.style.width = "0";
      lock(true);
      // The server closes it on time; ask once in case its event was missed.
      if (nudged !== current.index && now > deadline + 1500) {
        nudged = current.index;
        refresh();
      }
    }
    timer = setTimeout(tick, 200);
  }

  async function answer(value) {
    if (!current || answeredIndex === current.index) return;
    const index = current.index;
    answeredIndex = index;
    lock(true);
    try {
      const reply = await act("answer", {index: index, answer: value});
      if (reply.reveal) {  // asynchronous: my question closed with my answer
        current = null;
        reveal(reply.reveal);
        afterMyTurn();
      }
    } catch (error) {
      if (!error || error.code !== "conflict") { answeredIndex = -1; tick(); }
    }
  }

  $(".arena-submit-multi").addEventListener("click", () => {
    const ids = [...root.querySelectorAll('.arena-choice[aria-pressed="true"]')].map((b) => Number(b.dataset.id));
    if (ids.length) answer(ids);
  });
  $(".arena-numeric").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $(".arena-numeric input").value;
    if (raw !== "") answer(Number(raw));
  });

  function reveal(closed) {
    clearTimeout(timer);
    box.hidden = false;
    $(".countdown").textContent = "";
    const correct = [].concat(closed.correct);
    root.querySelectorAll(".arena-choice").forEach((b) => {
      b.disabled = true;
      const id = Number(b.dataset.id);
      if (correct.includes(id)) b.classList.add("correct");
      else if (b.getAttribute("aria-pressed") === "true") b.classList.add("wrong");
    });
    const mine = closed.results[String(me)];
    const parts = [];
    if (mine) parts.push(mine.correct ? interpolate(gettext("Right! +%s"), [mine.points]) : mine.answered ? gettext("Wrong.") : gettext("Too late."));
    const theirs = closed.results[String(opponentId())];
    if (theirs) parts.push(interpolate(gettext("Opponent: %s"), [theirs.correct ? "+" + theirs.points : "0"]));
    if (typeof closed.correct === "number") parts.push(interpolate(gettext("Answer: %s"), [closed.correct]));
    if (closed.explanation) parts.push(closed.explanation);
    const el = $(".arena-reveal");
    el.textContent = parts.join(" · ");
    el.hidden = false;
    say(gettext("Question closed."));
  }

  function afterMyTurn() {
    const played = (state.played[String(me)] || 0) + 1;
    state.played[String(me)] = played;
    if (played >= state.questions) {
      nextButton.hidden = true;
      say(gettext("Your run is done. The result comes when your opponent has played."));
    } else {
      nextButton.hidden = false;
    }
  }

  function showResult(s) {
    clearTimeout(waitPoll);
    clearTimeout(timer);
    current = null;
    upcoming = null;
    box.hidden = true;
    nextButton.hidden = true;
    const panel = $(".arena-result");
    panel.hidden = false;
    if (s.status === "expired" || !s.result) {
      $(".arena-outcome").textContent = gettext("This duel expired without a result.");
      say("");
      return;
    }
    const r = s.result;
    setScores(r.scores);
    $(".arena-outcome").textContent = r.draw ? gettext("Draw!") : r.winner === me ? gettext("You won!") : gettext("You lost.");
    $(".arena-final").textContent = interpolate(gettext("Final score: %s – %s"), [r.scores[String(me)], r.scores[String(opponentId())]]) + (r.forfeit ? " · " + gettext("by forfeit") : "");
    const change = r.rating_change[String(me)];
    $(".arena-rating").textContent = interpolate(gettext("Rating: %s (%s)"), [r.ratings[String(me)], (change >= 0 ? "+" : "") + change]);
    say(gettext("Duel over."));
  }

  function render(s) {
    state = s;
    syncClock(s.server_now);
    setScores(s.status === "finished" && s.result ? s.result.scores : s.scores);
    if (s.status === "finished" || s.status === "expired") return showResult(s);
    const challenge = $(".arena-answer-challenge");
    challenge.hidden = !(s.status === "pending" && s.opponent.id === me);
    if (s.status === "pending" && s.opponent.id === me) {
      return say(interpolate(gettext("%s challenges you to a duel."), [s.challenger.display_name]));
    }
    if (s.status === "pending") return say(gettext("Waiting for your opponent to accept…"));
    if (s.status !== "active") return say(gettext("This duel is over."));
    const last = s.closed[s.closed.length - 1];
    if (s.current && s.current.question) return showQuestion(s.current);
    if (s.current) {  // announced, not open yet: its text comes with question.opened
      if (last) reveal(last);
      return showUpcoming(s.current);
    }
    if (s.mode === "live") {
      if (last) reveal(last);
      else say(gettext("Waiting for your opponent…"));
      waitAgain();
    } else {
      if (last) reveal(last);
      if ((s.played[String(me)] || 0) >= s.questions) {
        say(gettext("Your run is done. The result comes when your opponent has played."));
      } else {
        say(gettext("Your opponent is away: play your questions now, they play theirs within a day."));
        nextButton.textContent = last ? gettext("Next question") : gettext("Start");
        // Playing needs the socket: the button shows once it is open (onOpen renders again).
        nextButton.hidden = !rt.connected;
      }
    }
  }

  function waitAgain() {
    // A live duel with no question announced yet: say "ready" again now and then (the
    // server takes it once) so that a missed event or a failed first "ready" cannot leave
    // the arena waiting for good.
    clearTimeout(waitPoll);
    waitPoll = setTimeout(() => { ready().catch(() => {}); }, 3000);
  }

  async function refresh() {
    render(await act("state"));
  }

  async function ready() {
    const s = await act("ready");
    render(s);
  }

  $("[data-testid=accept]").addEventListener("click", async () => {
    const s = await act("accept");
    render(s);
    if (s.mode === "live") ready().catch(() => {});
  });
  $("[data-testid=decline]").addEventListener("click", async () => render(await act("decline")));
  nextButton.addEventListener("click", () => {
    nextButton.hidden = true;
    // A "ready" that fails (the socket dropped) gives the button back, to try again.
    ready().catch(() => { if (!current && !upcoming) nextButton.hidden = false; });
  });
  $("#arena-rematch").addEventListener("click", async () => {
    const duel = await act("rematch").catch(() => null);
    if (duel && duel.url) window.location.assign(duel.url);
  });

  rt.subscribe(root.dataset.lobbyTopic);
  rt.subscribe(topic, {since: state.last_event_id});
  rt.on(topic, "question.upcoming", (q) => {
    if (current && current.index >= q.index) return;  // a replay of what is already open
    showUpcoming(q);
  });
  rt.on(topic, "question.opened", (q) => {
    // The server sends the text when the question's clock starts, to both at once.
    if (current && current.index >= q.index) return;  // already shown from the state
    answeredIndex = -1;
    q.answered = [];
    showQuestion(q);
  });
  rt.on(topic, "question.answered", (data) => {
    if (current && data.index === current.index) {
      current.answered = (current.answered || []).concat([data.user]);
      marks(current.answered);
    }
  });
  rt.on(topic, "question.closed", (closed) => {
    current = null;
    upcoming = null;
    marks([]);
    reveal(closed);
  });
  rt.on(topic, "score", (data) => setScores(data.scores));
  rt.on(topic, "player.ready", (data) => { if (data.user !== me) say(gettext("Your opponent is here.")); });
  rt.on(topic, "duel.mode", refresh);
  rt.on(topic, "duel.started", async () => {
    const s = await act("state");
    render(s);
    if (s.mode === "live") ready().catch(() => {});
  });
  rt.on(root.dataset.lobbyTopic, "challenge.received", (duel) => {
    if (duel.rematch_of !== state.id) return;
    $("#arena-rematch").textContent = gettext("Accept the rematch");
    say(interpolate(gettext("%s wants a rematch."), [duel.challenger.display_name]));
  });
  rt.on(topic, "duel.finished", refresh);
  rt.on(root.dataset.lobbyTopic, "duel.started", (duel) => {
    if (duel.rematch_of === state.id && duel.mode === "live") window.location.assign(duel.url);
  });
  rt.onStatus("resumed", (resumed) => { if (resumed === topic) refresh().catch(() => {}); });

  render(state);
  // Actions need the socket: on each (re)connection, say we are here (live) or refetch.
  async function onOpen() {
    try {
      if (state.status === "active" && state.mode === "live") await ready();
      else await refresh();
    } catch (error) { /* shown in the status line */ }
  }
  rt.onStatus("open", onOpen);
  if (rt.connected) onOpen();
})();
