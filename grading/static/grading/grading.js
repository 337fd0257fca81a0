/* Grading, live: the queue's counts per course and the gradebook's cells, from the editors'
 * grading.course.<id> topics (queue.count, grade.saved; ephemeral). */
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
  }
  const topicsOf = (el) => (el && el.dataset.topics ? el.dataset.topics.split(" ").filter(Boolean) : []);

  const counts = document.getElementById("queue-counts");
  topicsOf(counts).forEach((topic) => {
    rt.subscribe(topic);
    rt.on(topic, "queue.count", (data) => {
      const el = counts.querySelector('tr[data-course="' + data.course + '"] .pending');
      if (!el) return;
      const before = Number(el.textContent);
      el.textContent = String(data.pending);
      const stale = document.getElementById("queue-stale");
      if (stale && data.pending > before) stale.hidden = false;
    });
  });

  const book = document.getElementById("gradebook");
  topicsOf(book).forEach((topic) => {
    rt.subscribe(topic);
    rt.on(topic, "grade.saved", (data) => {
      const row = book.querySelector('tr[data-user="' + data.user + '"]');
      const cell = row && row.querySelector('td[data-activity="' + data.activity + '"]');
      if (!cell) return;
      cell.textContent = data.percent + " %";
      cell.classList.toggle("failed", !data.passed);
    });
    rt.on(topic, "queue.count", () => {});
  });
})();
