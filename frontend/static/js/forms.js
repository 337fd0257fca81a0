/* Form behaviours that templates declare with data- attributes, since the page's
 * Content-Security-Policy runs no inline handlers (onsubmit=, onchange=):
 *   <form data-confirm="Delete?">   asks before the form is sent;
 *   <select data-autosubmit>        sends its form as soon as it changes.
 * Listeners sit on the document, so forms added later behave the same. */
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const question = form.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (!(field instanceof Element) || !field.hasAttribute("data-autosubmit") || !field.form) return;
    // requestSubmit, unlike submit(), runs the form's own checks and submit listeners.
    field.form.requestSubmit();
  });
})();
