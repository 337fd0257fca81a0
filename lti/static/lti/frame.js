/* LTI pages inside a platform's frame (no inline script under the page's CSP). Modes, from
 * the json_script "lti-frame-data":
 *   check   does this browser keep our partitioned cookies in this frame? yes: go on to
 *           `next`; no: offer to open `window` (the same login) in a window of its own.
 *   put     LTI Platform Storage: store the state's secret in the platform's frame
 *           (lti.put_data to `target`, answered from `origin`), then go to the platform's
 *           authentication URL `next`; no answer: `fallback` (the state in a cookie).
 *   get     at the launch: read that secret back (lti.get_data) and post it with the id
 *           token to our launch URL (a same-origin post: the server checks its Origin).
 *   window  a page that only offers `window` (e.g. registration needs a sign-in). */
(function () {
  "use strict";
  const node = document.getElementById("lti-frame-data");
  if (!node) return;
  const data = JSON.parse(node.textContent);
  // A platform without storage never answers: after WAIT_MS the state goes in a cookie.
  // At the launch the platform has answered our put, so a slow answer is only slow (a
  // busy browser) and worth the longer wait: giving up there refuses the launch.
  const WAIT_MS = 3000;
  const READ_WAIT_MS = 15000;

  function blocked() {
    document.querySelector("[data-lti-frame-wait]").hidden = true;
    document.querySelector("[data-lti-frame-blocked]").hidden = false;
    document.querySelector("[data-lti-frame-window]").addEventListener("click", function () {
      window.open(data.window, "_blank");
    });
  }

  function platformFrame() {
    const parent = window.parent !== window ? window.parent : window.opener;
    if (!parent) return null;
    if (data.target === "_parent") return parent;
    try {
      return parent.frames[data.target] || null;
    } catch (err) {
      return null;
    }
  }

  /* One request to the platform's storage; resolves with the answer, rejects on error or
   * silence. Answers count only from the platform's origin and for our message id. */
  function ask(message, waitMs) {
    return new Promise(function (resolve, reject) {
      const frame = platformFrame();
      if (!frame) return reject(new Error("no platform frame"));
      const id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random());
      const timer = window.setTimeout(function () { done(); reject(new Error("timeout")); }, waitMs || WAIT_MS);
      function done() { window.removeEventListener("message", listen); window.clearTimeout(timer); }
      function listen(event) {
        const answer = event.data;
        if (event.origin !== data.origin || !answer || typeof answer !== "object") return;
        if (answer.subject !== message.subject + ".response" || answer.message_id !== id) return;
        done();
        if (answer.error) reject(new Error(answer.error.code || "error"));
        else resolve(answer);
      }
      window.addEventListener("message", listen);
      frame.postMessage(Object.assign({ message_id: id }, message), data.origin);
    });
  }

  if (data.mode === "check") {
    const name = "lyceum_lti_check";
    document.cookie = name + "=1; Path=/; SameSite=None; Secure; Partitioned";
    if (document.cookie.indexOf(name + "=1") !== -1) {
      document.cookie = name + "=; Path=/; Max-Age=0; SameSite=None; Secure; Partitioned";
      window.location.replace(data.next);
    } else {
      blocked();
    }
  } else if (data.mode === "put") {
    ask({ subject: "lti.put_data", key: data.key, value: data.value }).then(
      function () { window.location.replace(data.next); },
      function () { window.location.replace(data.fallback); }
    );
  } else if (data.mode === "get") {
    const form = document.querySelector("form[data-lti-frame-form]");
    ask({ subject: "lti.get_data", key: data.key }, READ_WAIT_MS).then(
      function (answer) {
        form.elements[data.field].value = String(answer.value || "");
        form.submit();
      },
      function () {
        // Nothing stored for this state in this browser: the server refuses the launch.
        form.elements[data.field].value = "-";
        form.submit();
      }
    );
  } else if (data.mode === "window") {
    blocked();
    // The registration window says "close" to us (its opener): pass it on to the platform.
    window.addEventListener("message", function (event) {
      if (event.origin !== window.location.origin || !event.data) return;
      if (event.data.subject === "org.imsglobal.lti.close" && window.parent !== window) {
        window.parent.postMessage({ subject: "org.imsglobal.lti.close" }, data.origin || "*");
      }
    });
  }
})();
