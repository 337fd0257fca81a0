/* The notification settings page: turn Web Push on or off on this device (offline.js). */
(function () {
  "use strict";
  // The grid: an e-mail always comes with the in-app notice, so ticking "E-mail" ticks
  // "In the app" and unticking "In the app" unticks "E-mail".
  document.querySelectorAll("[data-testid=notify-grid] tr[data-kind]").forEach((row) => {
    const kind = row.getAttribute("data-kind");
    const inApp = row.querySelector('[name="inapp-' + kind + '"]');
    const email = row.querySelector('[name="email-' + kind + '"]');
    if (!inApp || !email) return;
    email.addEventListener("change", () => { if (email.checked) inApp.checked = true; });
    inApp.addEventListener("change", () => { if (!inApp.checked) email.checked = false; });
  });
})();
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const box = document.querySelector("[data-testid=push-device]");
  const push = window.Lyceum && window.Lyceum.push;
  if (!box || !push || !push.supported()) return;
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const text = box.querySelector("[data-push-text]");
  function show(state) {
    box.hidden = false;
    on.hidden = state.subscribed;
    off.hidden = !state.subscribed;
    if (state.permission === "denied") {
      text.textContent = gettext("Notifications are blocked for this site in the browser's settings.");
      on.hidden = true;
    }
  }
  push.state().then(show).catch(() => {});
  on.addEventListener("click", () => {
    on.disabled = true;
    push.enable().then(() => push.state()).then(show)
      .catch((err) => { text.textContent = err.message; })
      .finally(() => { on.disabled = false; });
  });
  off.addEventListener("click", () => {
    push.disable().then(() => push.state()).then(show).catch((err) => { text.textContent = err.message; });
  });
})();
