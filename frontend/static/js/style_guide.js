/* The style guide's demonstrations: swatches filled from the live tokens, a toast, a date. */
(function () {
  "use strict";
  const css = getComputedStyle(document.documentElement);
  document.querySelectorAll(".sg-fill").forEach((rect) => {
    rect.setAttribute("fill", css.getPropertyValue(rect.dataset.token).trim() || "transparent");
  });
  const button = document.getElementById("sg-toast");
  if (button) {
    button.addEventListener("click", () => {
      window.Lyceum.toast(gettext("A seat is free in First aid workshop"), "/sessions/");
    });
  }
  const date = document.getElementById("sg-js-date");
  if (date) date.textContent = window.Lyceum.formatDate(date.dataset.iso);
})();
