/* A quiz taken without a network (docs/OFFLINE.md). The course was made available offline
 * (offline-course.js kept the questions, without answers, and a ticket). Offline, this page
 * offers the saved quiz instead of "Start"; each answer is kept in IndexedDB at once, with
 * its time, so closing the app loses nothing; "Submit" puts the attempt in the outbox, sent
 * when the network is back. The server scores it and says what it accepted. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const Lyceum = window.Lyceum || {};
  const box = document.querySelector("[data-testid=offline-quiz]");
  if (!box || !Lyceum.offline || !Lyceum.outbox) return;
  const kv = Lyceum.offline.kv;
  const activity = box.dataset.activity;
  const runKey = "quiz-run:" + activity;
  const resultKey = "quiz-result:" + activity;
  const online = document.querySelector("[data-online-start]");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function showResult() {
    let result = await kv.get(resultKey);
    if (!result) return false;
    if (result.pending) {
      // Sent meanwhile, maybe from another page: the outbox kept the server's answer.
      const answered = await kv.get("result:" + result.client_id);
      if (answered) {
        result = Object.assign({status: answered.status}, answered.data || {});
        await kv.set(resultKey, result);
      }
    }
    const p = el("p", {"data-testid": "offline-quiz-result", class: "tag"});
    if (result.accepted) {
      p.textContent = interpolate(gettext("Your offline attempt was counted: %s %."), [result.attempt.score]);
      if (result.attempt.late) p.textContent += " " + gettext("It arrived after the time limit: it scores zero.");
    } else if (result.pending) {
      p.textContent = gettext("Your answers are saved on this device and will be sent when you are back online.");
    } else {
      p.textContent = (result.error && result.error.message) || gettext("Your offline attempt was not counted.");
    }
    box.prepend(p);
    return true;
  }

  async function render() {
    box.replaceChildren();
    const quiz = await kv.get("quiz:" + activity);
    const hadResult = await showResult();
    if (!quiz) { box.hidden = !hadResult; return; }
    const run = await kv.get(runKey);
    if (navigator.onLine && !run) { box.hidden = !hadResult; if (online) online.hidden = false; return; }
    box.hidden = false;
    if (online) online.hidden = !navigator.onLine;
    if (quiz.attempts_left === 0) {
      box.append(el("p", {}, gettext("No attempts left for this quiz.")));
      return;
    }
    if (!run) {
      const start = el("button", {type: "button", class: "primary", "data-testid": "offline-quiz-start"}, gettext("Take the quiz offline"));
      start.addEventListener("click", async () => {
        await kv.set(runKey, {client_id: Lyceum.offline.uuid(), started_at: new Date().toISOString(), answers: {}, times: {}});
        render();
      });
      box.append(el("p", {}, gettext("This quiz is saved on this device.")), start);
      return;
    }
    const form = el("form", {class: "stacked", "data-testid": "offline-quiz-form"});
    quiz.questions.forEach((q) => {
      const set = el("fieldset", {"data-question": q.id});
      set.append(el("legend", {}, q.text));
      if (q.kind === "numeric") {
        const input = el("input", {type: "number", step: "any", name: "q" + q.id});
        if (run.answers[q.id] !== undefined) input.value = run.answers[q.id];
        set.append(input);
      } else {
        const type = q.kind === "multiple" ? "checkbox" : "radio";
        q.choices.forEach((c) => {
          const label = el("label", {});
          const input = el("input", {type: type, name: "q" + q.id, value: String(c.id)});
          const given = run.answers[q.id];
          if (Array.isArray(given) ? given.includes(c.id) : given === c.id) input.checked = true;
          label.append(input, " " + c.text);
          set.append(label);
        });
      }
      form.append(set);
    });
    // Each change is kept at once, with its time: the app may be closed at any moment.
    form.addEventListener("change", async (event) => {
      const set = event.target.closest("fieldset");
      const qid = set.dataset.question;
      const q = quiz.questions.find((x) => String(x.id) === qid);
      const current = (await kv.get(runKey)) || run;
      if (q.kind === "numeric") {
        const value = event.target.value.trim();
        if (value === "") delete current.answers[qid]; else current.answers[qid] = Number(value);
      } else {
        const picked = Array.from(set.querySelectorAll("input:checked"), (i) => Number(i.value));
        if (picked.length) current.answers[qid] = picked; else delete current.answers[qid];
      }
      current.times[qid] = new Date().toISOString();
      await kv.set(runKey, current);
    });
    const submit = el("button", {type: "submit", class: "primary", "data-testid": "offline-quiz-submit"}, gettext("Submit"));
    form.append(submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      const current = (await kv.get(runKey)) || run;
      await kv.set(resultKey, {pending: true, client_id: current.client_id});
      await Lyceum.outbox.add({
        url: quiz.submit_url,
        kind: "quiz",
        label: quiz.title,
        activity: quiz.activity,
        client_id: current.client_id,
        body: {
          client_id: current.client_id,
          ticket: quiz.ticket,
          answers: current.answers,
          started_at: current.started_at,
          finished_at: new Date().toISOString(),
        },
      });
      await kv.delete(runKey);
      render();
    });
    const left = quiz.time_limit_seconds ? " " + interpolate(gettext("Time limit: %s seconds, counted from when you started."), [quiz.time_limit_seconds]) : "";
    box.append(el("p", {}, gettext("Offline attempt: your answers are kept on this device.") + left), form);
  }

  // The server's answer to a quiz sent from the outbox (this page or any other).
  Lyceum.outbox.onResult(async ({entry, status, data}) => {
    if (entry.kind !== "quiz" || String(entry.activity) !== activity) return;
    await kv.set(resultKey, Object.assign({status: status}, data || {}));
    if (data && data.accepted && Lyceum.toast) Lyceum.toast(gettext("Your offline quiz was sent and counted."));
    render();
  });
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  render();
})();
