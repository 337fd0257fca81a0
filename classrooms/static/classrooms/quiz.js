/* The quiz timer: a countdown to the deadline the server set (the server decides; this
 * only shows the time left and submits when it runs out). */
(function () {
  "use strict";
  const timer = document.querySelector(".timer[data-deadline]");
  if (!timer) return;
  const deadline = new Date(timer.dataset.deadline).getTime();
  const out = document.getElementById("time-left");
  const form = document.querySelector("[data-testid=quiz-form]");
  function tick() {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    out.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left === 0) {
      if (form) form.submit();
      return;
    }
    setTimeout(tick, 1000);
  }
  tick();
})();
