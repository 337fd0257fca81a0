/* Offline and push, on every page (docs/OFFLINE.md):
 *  - registers the service worker (/sw.js) and runs its update flow: "a new version is
 *    available" with a Reload button (the new worker takes over only then);
 *  - shows offline / back online and what is waiting to be sent;
 *  - Lyceum.outbox: writes made offline (a quiz, attendance marks), kept in IndexedDB with
 *    a client id, sent when the network is back (each replay is idempotent on the server);
 *  - Lyceum.push: turn Web Push on or off on this device (after a click: browsers ask
 *    permission only after a gesture).
 */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((s, p, n) => (n === 1 ? s : p));
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const Lyceum = (window.Lyceum = window.Lyceum || {});
  const script = document.currentScript;
  const status = document.getElementById("net-status");

  // Our stylesheet, from the script's own data (no <style> under the CSP, one line in base).
  if (script && script.dataset.css && !document.querySelector("link[data-offline-css]")) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = script.dataset.css;
    link.dataset.offlineCss = "";
    document.head.appendChild(link);
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // -- IndexedDB: one database, small stores ------------------------------------------------
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const open = indexedDB.open("lyceum-offline", 1);
        open.onupgradeneeded = () => {
          const d = open.result;
          if (!d.objectStoreNames.contains("outbox")) d.createObjectStore("outbox", {keyPath: "client_id"});
          if (!d.objectStoreNames.contains("kv")) d.createObjectStore("kv");
        };
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return dbPromise;
  }
  function tx(store, mode, fn) {
    return db().then((d) => new Promise((resolve, reject) => {
      const t = d.transaction(store, mode);
      const result = fn(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    }));
  }
  const kv = {
    get: (key) => tx("kv", "readonly", (s) => s.get(key)),
    set: (key, value) => tx("kv", "readwrite", (s) => s.put(value, key)),
    delete: (key) => tx("kv", "readwrite", (s) => s.delete(key)),
  };

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // -- the outbox -----------------------------------------------------------------------------
  const listeners = new Set();
  let flushing = null;
  const outbox = {
    /** Queue a POST; returns its client id. ``item``: {url, body, label, kind}. */
    add(item) {
      const entry = Object.assign({client_id: uuid(), queued_at: new Date().toISOString()}, item);
      if (entry.body && typeof entry.body === "object" && !entry.body.client_id) entry.body.client_id = entry.client_id;
      return tx("outbox", "readwrite", (s) => s.put(entry)).then(() => {
        refresh();
        if (navigator.onLine) outbox.flush();
        return entry.client_id;
      });
    },
    all: () => tx("outbox", "readonly", (s) => s.getAll()),
    count: () => tx("outbox", "readonly", (s) => s.count()),
    /** Called with {entry, status, data} for each item the server answered. */
    onResult(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    /** Send what waits, oldest first; a network failure keeps the rest for later. */
    flush() {
      if (flushing) return flushing;
      flushing = (async () => {
        const entries = (await outbox.all()).sort((a, b) => (a.queued_at < b.queued_at ? -1 : 1));
        for (const entry of entries) {
          let response;
          try {
            response = await fetch(entry.url, {
              method: entry.method || "POST",
              credentials: "same-origin",
              headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
              body: JSON.stringify(entry.body || {}),
            });
          } catch (err) {
            break;  // still offline: keep it and the rest
          }
          // Not decided yet (server down, over a rate, signed out): keep it for the next try.
          if (response.status >= 500 || [401, 403, 429].includes(response.status)) break;
          let data = null;
          try { data = await response.json(); } catch (err) { data = null; }
          // Answered (accepted, or refused for good with a reason): the server decided.
          await tx("outbox", "readwrite", (s) => s.delete(entry.client_id));
          // Kept for the page that asked (it may be closed now, or be another page).
          await kv.set("result:" + entry.client_id, {status: response.status, data: data}).catch(() => {});
          for (const fn of listeners) {
            try { fn({entry: entry, status: response.status, data: data}); } catch (e) { console.error(e); }
          }
        }
        await refresh();
      })().finally(() => { flushing = null; });
      return flushing;
    },
  };

  // -- status: offline / online, what waits --------------------------------------------------
  let waiting = 0;
  function render() {
    if (!status) return;
    const offline = !navigator.onLine;
    const text = status.querySelector("[data-net-text]") || status;
    let message = "";
    if (offline) {
      message = gettext("You are offline.");
      if (waiting) message += " " + interpolate(ngettext("%s change waits to be sent.", "%s changes wait to be sent.", waiting), [waiting]);
    } else if (waiting) {
      message = interpolate(ngettext("Sending %s change…", "Sending %s changes…", waiting), [waiting]);
    }
    status.dataset.state = offline ? "offline" : "online";
    status.dataset.waiting = String(waiting);
    text.textContent = message;
    status.hidden = !message;
  }
  function refresh() {
    if (!window.indexedDB) { render(); return Promise.resolve(); }
    return outbox.count().then((n) => { waiting = n; render(); }).catch(() => render());
  }
  window.addEventListener("offline", render);
  window.addEventListener("online", () => {
    render();
    outbox.flush();
    if (Lyceum.toast) Lyceum.toast(gettext("Back online."));
  });

  // -- the service worker and its update flow -----------------------------------------------
  function offerUpdate(worker) {
    if (!status || document.querySelector("[data-testid=update-banner]")) return;
    const banner = document.createElement("div");
    banner.className = "update-banner";
    banner.dataset.testid = "update-banner";
    banner.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = gettext("A new version of Lyceum is available.");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.textContent = gettext("Reload");
    button.addEventListener("click", () => {
      button.disabled = true;
      reloadWanted = true;
      worker.postMessage({type: "skip-waiting"});
    });
    banner.append(text, " ", button);
    status.parentNode.insertBefore(banner, status.nextSibling);
  }
  let reloadWanted = false;
  let registration = null;
  const ready = (async () => {
    if (!("serviceWorker" in navigator) || !script || !script.dataset.sw) return null;
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (reloadWanted) { reloadWanted = false; location.reload(); }
    });
    try {
      registration = await navigator.serviceWorker.register(script.dataset.sw, {scope: "/", updateViaCache: "none"});
    } catch (err) {
      return null;
    }
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
    registration.addEventListener("updatefound", () => {
      const worker = registration.installing;
      if (!worker) return;
      worker.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
      });
    });
    return registration;
  })();

  // Signing out on a shared device: the pages and courses saved here go with the session.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form && form.action && new URL(form.action, location.href).pathname === "/accounts/logout/") {
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({type: "signed-out"});
      }
      if (window.indexedDB) tx("kv", "readwrite", (s) => s.clear()).catch(() => {});
    }
  }, true);

  // -- Web Push on this device ---------------------------------------------------------------
  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
  async function api(url, method, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok && response.status !== 204) throw new Error("HTTP " + response.status);
    return response.status === 204 ? null : response.json();
  }
  const push = {
    supported: () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window,
    async state() {
      const reg = await ready;
      const sub = reg && reg.pushManager ? await reg.pushManager.getSubscription() : null;
      return {supported: push.supported(), permission: window.Notification ? Notification.permission : "denied", subscribed: Boolean(sub)};
    },
    /** From a click: ask permission, subscribe, tell the server. */
    async enable() {
      const reg = await ready;
      if (!reg || !push.supported()) throw new Error(gettext("This browser cannot receive notifications."));
      const permission = await Notification.requestPermission();
      if (permission !== "granted") throw new Error(gettext("Notifications are blocked for this site in the browser's settings."));
      const info = await api("/api/v1/push/", "GET");
      const sub = (await reg.pushManager.getSubscription())
        || (await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(info.public_key)}));
      await api("/api/v1/push/subscriptions/", "POST", sub.toJSON());
      return sub;
    },
    async disable() {
      const reg = await ready;
      const sub = reg ? await reg.pushManager.getSubscription() : null;
      if (!sub) return;
      await api("/api/v1/push/subscriptions/", "DELETE", {endpoint: sub.endpoint});
      await sub.unsubscribe();
    },
  };
  // A subscription the browser replaced while no worker event could tell us: re-sent once
  // per page load when permission is granted (idempotent on the server).
  ready.then(async (reg) => {
    if (!reg || !push.supported() || Notification.permission !== "granted" || !document.body.dataset.userId) return;
    const sub = await reg.pushManager.getSubscription();
    if (sub) api("/api/v1/push/subscriptions/", "POST", sub.toJSON()).catch(() => {});
  }).catch(() => {});

  Lyceum.offline = {ready: ready, kv: kv, db: db, uuid: uuid, csrfToken: csrfToken, refresh: refresh};
  Lyceum.outbox = outbox;
  Lyceum.push = push;
  refresh().then(() => { if (navigator.onLine) outbox.flush(); });
  // The live connection is back (the network may have been "up" while the server was not).
  if (document.body.dataset.userId && Lyceum.realtime) Lyceum.realtime.onStatus("open", () => outbox.flush());
})();
