/* The agenda page: the list view by default on phones; copy the feed address. (The reset form's data-confirm is asked by the
 * shell's forms.js, as on every page.) */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  // On a phone the list is the agenda's default view: a month grid is wider than the
  // screen. Only when no view was chosen (the view links always name one).
  const query = new URLSearchParams(window.location.search);
  if (!query.has("view") && window.matchMedia("(max-width: 48rem)").matches) {
    query.set("view", "list");
    window.location.replace("?" + query.toString());
    return;
  }
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
