/* The progress bar's width, set from script (the CSP allows no inline style). */
(function () {
  "use strict";
  document.querySelectorAll("[data-progress]").forEach((bar) => {
    const span = bar.querySelector("span");
    if (span) span.style.width = Number(bar.dataset.progress) + "%";
  });
})();
