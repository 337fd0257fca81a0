/* Live progress: the trainer's grid, the manager's team table, the learner's own bar.
 * The grid subscribes to classrooms.course.<id>.progress (editors) or the manager's
 * classrooms.team.<id>.progress topics, the team table to the latter, from the newest
 * completion id on the page; the learner's bar listens on their own hub.user.<id>. */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  if (!Lyceum) return;
  const rt = Lyceum.realtime;
  const gettext = window.gettext || ((s) => s);
  const status = document.getElementById("live-status");
  if (status) {
    rt.onStatus("open", () => { status.textContent = gettext("Live"); });
    rt.onStatus("close", () => { status.textContent = gettext("Reconnecting…"); });
    // Too much was missed to replay: the page's numbers are stale, show fresh ones.
    rt.onStatus("truncated", (topic) => { if (topic && topic.startsWith("classrooms.")) location.reload(); });
  }

  function flash(el) {
    el.classList.remove("fresh");
    void el.offsetWidth;
    el.classList.add("fresh");
  }

  // Trainer's grid.
  const wrap = document.getElementById("grid-wrap");
  // Entries are "topic:since": the course topic (editors) or the manager's team topics,
  // which also carry the team's other courses: events are matched on the course.
  function eachTopic(el, fn) {
    (el.dataset.topics || "").split(" ").filter(Boolean).forEach((entry) => {
      const [topic, since] = entry.split(":");
      fn(topic, parseInt(since || "0", 10));
    });
  }
  if (wrap && wrap.dataset.topics) {
    const courseId = Number(wrap.dataset.course);
    // Cells have no attributes (the grid is large): an activity's column is its header's.
    const columns = new Map();
    wrap.querySelectorAll("thead th").forEach((th, i) => {
      if (th.dataset.activity) columns.set(Number(th.dataset.activity), i);
    });
    const rowOf = (userId) => wrap.querySelector('tr[data-user="' + userId + '"]');
    const setPercent = (row, progress) => {
      const pct = row.querySelector("td.pct");
      pct.dataset.progress = progress;
      pct.textContent = progress + " %";
      flash(pct);
    };
    // A quiz cell reads "✔ 80 %" (done, best score), "40 %" (tried) or nothing.
    const setScore = (cell, score) => {
      cell.textContent = (cell.classList.contains("done") ? "✔ " : "") + score + " %";
    };
    const onProgress = (d) => {
      if (d.course !== courseId) return;
      const row = rowOf(d.user.id);
      if (!row) return;
      const cell = row.children[columns.get(d.activity)];
      if (cell && !cell.classList.contains("done")) {
        cell.classList.add("done");
        cell.prepend("✔ ");
        flash(cell);
      }
      if (cell && d.score !== null && d.score !== undefined) setScore(cell, d.score);
      setPercent(row, d.progress);
    };
    const onScored = (d) => {
      if (d.course !== courseId || d.score === null || d.score === undefined) return;
      const row = rowOf(d.user.id);
      const cell = row && row.children[columns.get(d.activity)];
      if (!cell) return;
      setScore(cell, d.score);
      flash(cell);
    };
    // The course's activities changed: every learner whose progress moved, at once.
    const onRecomputed = (d) => {
      if (d.course !== courseId) return;
      for (const learner of d.learners) {
        const row = rowOf(learner.user.id);
        if (row) setPercent(row, learner.progress);
      }
    };
    const tbody = wrap.querySelector("tbody");
    const onEnrolled = (e) => {
      if (e.course !== courseId) return;
      if (!tbody || tbody.querySelector('tr[data-user="' + e.user.id + '"]')) return;
      const tr = document.createElement("tr");
      tr.dataset.user = e.user.id;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = e.user.name;
      const pct = document.createElement("td");
      pct.className = "pct";
      pct.textContent = e.progress + " %";
      tr.append(th, pct);
      for (let i = 0; i < columns.size; i++) tr.appendChild(document.createElement("td"));
      tbody.appendChild(tr);
      flash(tr);
    };
    const onUnenrolled = (e) => {
      if (e.course !== courseId) return;
      const tr = wrap.querySelector('tr[data-user="' + e.user.id + '"]');
      if (tr) tr.remove();
    };
    eachTopic(wrap, (topic, since) => {
      rt.on(topic, "progress.updated", onProgress);
      rt.on(topic, "quiz.scored", onScored);
      rt.on(topic, "activity.scored", onScored);  // an external tool's score (externaltools/)
      rt.on(topic, "progress.recomputed", onRecomputed);
      rt.on(topic, "enrolment.created", onEnrolled);
      rt.on(topic, "enrolment.deleted", onUnenrolled);
      // Many enrolled at once (a recertification window): the rows come with a reload.
      rt.on(topic, "enrolments.created", (e) => { if (e.course === courseId) location.reload(); });
      rt.subscribe(topic, {since: since});
    });
  }

  // Manager's team table.
  const team = document.getElementById("team-table");
  if (team && team.dataset.topics) {
    const STATUS = {completed: gettext("Completed"), active: gettext("In progress")};
    const update = (userId, course, progress, status) => {
      const row = team.querySelector('tr[data-user="' + userId + '"][data-course="' + course + '"]');
      if (!row) return;
      const pct = row.querySelector("td.pct");
      pct.dataset.progress = progress;
      pct.querySelector("progress").value = progress;
      pct.querySelector("span").textContent = progress + " %";
      if (STATUS[status]) row.querySelector("td.status").textContent = STATUS[status];
      flash(pct);
    };
    eachTopic(team, (topic, since) => {
      rt.on(topic, "progress.updated", (d) => update(d.user.id, d.course, d.progress, d.status));
      rt.on(topic, "progress.recomputed", (d) => {
        for (const learner of d.learners) update(learner.user.id, d.course, learner.progress, learner.status);
      });
      rt.subscribe(topic, {since: since});
    });
  }

  // The learner's own progress on a course page.
  const article = document.querySelector("article.course[data-course]");
  const userId = document.body.dataset.userId;
  const bar = document.getElementById("my-progress-bar");
  if (article && bar && userId) {
    const courseId = Number(article.dataset.course);
    rt.on("hub.user." + userId, "classrooms.progress", (d) => {
      if (d.course !== courseId) return;
      bar.value = d.progress;
      document.getElementById("my-progress-value").textContent = d.progress;
      // Completed, or back in progress when the course gained a required activity.
      document.getElementById("my-status").hidden = d.status !== "completed";
      if (!d.activity) return;
      const li = article.querySelector('li[data-activity="' + d.activity + '"]');
      if (li) {
        li.classList.add("done");
        li.querySelector(".check").textContent = "✔";
      }
    });
  }
})();
