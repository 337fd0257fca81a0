/* The agenda page: copy the feed address, confirm before resetting it. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(field.value).then(
        () => window.Lyceum && window.Lyceum.toast(gettext("Address copied.")),
        () => { field.select(); }
      );
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
