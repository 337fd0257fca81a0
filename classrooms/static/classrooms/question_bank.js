/* The question bank's form shows the fields of the chosen kind only: answers for choice
 * questions, the expected number and its tolerance for numeric ones (the server ignores
 * the others anyway). */
(function () {
  "use strict";
  const form = document.querySelector("form.question-form");
  if (!form) return;
  const kind = form.querySelector("select[name=kind]");
  function show() {
    form.querySelectorAll("[data-for-kinds]").forEach((row) => {
      const kinds = row.dataset.forKinds;
      row.hidden = Boolean(kinds) && !kinds.split(" ").includes(kind.value);
    });
  }
  kind.addEventListener("change", show);
  show();
})();
