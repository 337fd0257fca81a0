/* An activity completed by viewing (a lesson, a media item): the page itself says it was
 * seen, with a POST (CSRF token, same origin) once it is actually shown in a tab. Opening
 * the page's URL any other way (an image in a chat message, a prefetch) completes nothing:
 * the GET only renders. The element carrying data-complete-url is present only for an
 * enrolled learner who has not done the activity yet. */
(function () {
  "use strict";
  const marker = document.querySelector("[data-complete-url]");
  if (!marker) return;
  const Lyceum = window.Lyceum || {};
  let sent = false;

  function csrfToken() {
    if (Lyceum.shell && Lyceum.shell.csrfToken) return Lyceum.shell.csrfToken();
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showDone() {
    if (document.querySelector("[data-testid=activity-done]")) return;
    const tag = document.createElement("p");
    tag.className = "tag done";
    tag.dataset.testid = "activity-done";
    tag.textContent = "✔ " + (marker.dataset.doneLabel || "Done");
    marker.after(tag);
  }

  function complete() {
    if (sent || document.visibilityState !== "visible") return;
    sent = true;
    fetch(marker.dataset.completeUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"},
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(response)))
      .then((data) => { if (data.completed) showDone(); })
      .catch((error) => {
        // Offline (a course kept on the device): done here now, told to the server when
        // the network is back (the outbox; completing twice changes nothing there).
        if (!(error instanceof Response) && Lyceum.outbox) {
          Lyceum.outbox.add({url: marker.dataset.completeUrl, body: {}, kind: "viewed", label: document.title})
            .then(showDone).catch(() => { sent = false; });
          return;
        }
        sent = false;  // a later visit (or becoming visible) tries again
      });
  }

  // Shown now, or when a tab opened in the background is brought to the front.
  document.addEventListener("visibilitychange", complete);
  complete();
})();
