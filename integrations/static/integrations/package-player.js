/* The package player (integrations/scorm.py, docs/INTEGRATIONS.md).
 *
 * The real SCORM API object (scorm-again's Scorm12API or Scorm2004API) lives here, in
 * Lyceum's page; the package runs in a sandboxed frame (opaque origin) and reaches it
 * through scorm-again's CrossFrameLMS: only messages from that frame are answered.
 * Commits (LMSCommit/Commit, LMSFinish/Terminate, autocommit) go to the attempt's REST
 * resource with the session and CSRF token; leaving the page sends the last state with a
 * keepalive fetch. Launching resumes the attempt the server says (location, suspend data). */
(function () {
  "use strict";
  const root = document.querySelector("[data-package-player]");
  if (!root) return;
  const frame = root.querySelector("iframe");
  const status = root.querySelector("[data-player-status]");
  const Lyceum = window.Lyceum || {};
  let api = null;
  let launch = null;
  let ended = false;
  // SCORM 2004: what the SCO asked for before Terminate (continue/previous: the next or
  // previous SCO in the manifest's order, the flow its sequencing allows).
  let navRequest = "";

  function csrfToken() {
    if (Lyceum.shell && Lyceum.shell.csrfToken) return Lyceum.shell.csrfToken();
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(text) { status.textContent = text; }

  // Messages from anything but the package's frame never reach the bridge.
  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow) event.stopImmediatePropagation();
  }, true);

  // The leaving page's last state. commit_url names this launch's session: if the learner
  // has opened the SCO again before it arrives, the server refuses it (409), since the new
  // session started from the state before it.
  function commitLast() {
    if (!api || !launch || ended) return;
    let cmi;
    try { cmi = api.renderCommitCMI(true); } catch (error) { return; }
    fetch(launch.commit_url, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({cmi: cmi}),
    }).catch(function () {});
  }

  function finished() {
    ended = true;
    say(root.dataset.finishedLabel);
    root.dataset.state = "finished";
    const request = navRequest;
    const links = {continue: root.dataset.nextUrl, previous: root.dataset.previousUrl};
    if (links[request]) window.setTimeout(function () { window.location.assign(links[request]); }, 300);
  }

  // Every commit, Terminate's too, is a synchronous POST with the session and CSRF token:
  // the content hears whether it was stored (scorm-again's own Terminate path uses
  // sendBeacon, which cannot carry the CSRF header). A refused commit (400) is a failure.
  const http = {
    processHttpRequest: function (url, params) {
      const xhr = new XMLHttpRequest();
      try {
        xhr.open("POST", url, false);
        xhr.setRequestHeader("Content-Type", "application/json");
        xhr.setRequestHeader("X-CSRFToken", csrfToken());
        xhr.send(JSON.stringify({cmi: params}));
      } catch (error) {
        return {result: "false", errorCode: 391};
      }
      const ok = xhr.status >= 200 && xhr.status < 300;
      if (ok) root.dataset.commits = String(Number(root.dataset.commits || "0") + 1);
      return ok ? {result: "true", errorCode: 0} : {result: "false", errorCode: 391};
    },
    updateSettings: function () {},
  };

  // cmi5: the AU gets its launch query (endpoint, fetch, registration, activityId, actor)
  // in its URL and talks to Lyceum's xAPI resources itself; no runtime lives here.
  function startAU(data) {
    launch = data;
    ended = true;
    frame.src = data.content_url;
    root.dataset.attempt = String(data.attempt);
    root.dataset.state = data.resumed ? "resumed" : "started";
    say(data.resumed ? root.dataset.resumedLabel : root.dataset.startedLabel);
  }

  function start(data) {
    if (data.kind === "cmi5") { startAU(data); return; }
    launch = data;
    const settings = {
      lmsCommitUrl: data.commit_url,
      dataCommitFormat: "flattened",
      httpService: http,
      autocommit: true,
      autocommitSeconds: 30,
      logLevel: 4,
    };
    api = data.kind === "scorm12" ? new window.Scorm12API(settings) : new window.Scorm2004API(settings);
    api.loadFromFlattenedJSON(data.cmi, "");
    const end = data.kind === "scorm12" ? "LMSFinish" : "Terminate";
    api.on(end, function () { window.setTimeout(finished, 0); });
    if (data.kind === "scorm2004") {
      api.on("SetValue.adl.nav.request", function (element, value) { navRequest = String(value); });
    }
    new window.CrossFrameLMS(api, "*");
    frame.src = data.content_url;
    root.dataset.attempt = String(data.attempt);
    root.dataset.state = data.resumed ? "resumed" : "started";
    say(data.resumed ? root.dataset.resumedLabel : root.dataset.startedLabel);
  }

  window.addEventListener("pagehide", commitLast);

  fetch(root.dataset.launchUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"},
  })
    .then(function (response) { return response.ok ? response.json() : Promise.reject(response); })
    .then(start)
    .catch(function () { say(root.dataset.errorLabel); root.dataset.state = "error"; });
})();
