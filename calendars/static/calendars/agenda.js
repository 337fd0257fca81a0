/* The agenda page: copy the feed address. (The reset form's data-confirm is asked by the
 * shell's forms.js, as on every page.) */
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
})();
