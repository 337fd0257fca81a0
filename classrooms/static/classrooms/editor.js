/* Markdown editor: a textarea with a live preview. The preview HTML comes from the server
 * (POST /courses/preview/), rendered by hub/sanitize.py — the same policy that stores it —
 * so what the trainer sees is exactly what learners get, and nothing unsafe runs here. */
(function () {
  "use strict";
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  document.querySelectorAll("[data-preview-for]").forEach((preview) => {
    const source = document.getElementById(preview.dataset.previewFor);
    if (!source) return;
    preview.classList.add("md-preview");
    let timer = null;
    let seq = 0;
    async function render() {
      const mine = ++seq;
      const body = new URLSearchParams({text: source.value});
      try {
        const response = await fetch("/courses/preview/", {
          method: "POST",
          headers: {"X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"},
          body: body,
          credentials: "same-origin",
        });
        if (mine !== seq) return;
        if (response.status === 400) {  // too long to preview: say so instead of a stale preview
          const error = ((await response.json().catch(() => ({}))).error) || {};
          preview.textContent = error.message || "";
          return;
        }
        if (!response.ok) return;
        const data = await response.json();
        preview.innerHTML = data.html; // sanitised by the server's allow-list
      } catch (e) { /* offline: keep the last preview */ }
    }
    source.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(render, 250);
    });
    if (source.value) render();
  });
})();
