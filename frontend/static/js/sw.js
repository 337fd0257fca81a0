/* Lyceum's service worker, served at /sw.js (scope /) by frontend.views.service_worker,
 * which fills in VERSION (a digest of this file and the shell's files) and SHELL (their
 * addresses). docs/OFFLINE.md says what is cached and when.
 *
 *  - the app shell (stylesheet, scripts, icon, offline page) is cached at install, per
 *    version; a new version waits until the person reloads ("a new version is available");
 *  - pages: network first, the last copy seen when offline, else the offline page;
 *  - static files: from the cache, refreshed in the background;
 *  - courses made available offline (offline-course.js) live in caches "lyceum-course-<id>";
 *    media there answer range requests (a video seeks offline);
 *  - Web Push: show the notice; a click opens its page; a replaced subscription is renewed.
 */
"use strict";

const VERSION = "__LYCEUM_VERSION__";
const SHELL = JSON.parse("__LYCEUM_SHELL__");
const OFFLINE_URL = "__LYCEUM_OFFLINE_URL__";
const SHELL_CACHE = "lyceum-shell-" + VERSION;
const PAGES_CACHE = "lyceum-pages";
const STATIC_CACHE = "lyceum-static";
const COURSE_PREFIX = "lyceum-course-";
const MAX_PAGES = 80;

self.addEventListener("install", (event) => {
  // The new shell is fetched now; it takes over when the person reloads (skip-waiting).
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL.map((u) => new Request(u, {cache: "reload"}))))
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(
      names.filter((n) => n.startsWith("lyceum-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))
    )).then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "skip-waiting") {
    self.skipWaiting();
  } else if (data.type === "version" && event.ports[0]) {
    event.ports[0].postMessage({version: VERSION});
  } else if (data.type === "signed-out") {
    // A shared device: the next person must not read the last one's pages offline.
    event.waitUntil(caches.keys().then((names) => Promise.all(
      names.filter((n) => n === PAGES_CACHE || n.startsWith(COURSE_PREFIX)).map((n) => caches.delete(n))
    )));
  }
});

function isCacheablePage(request, response) {
  const url = new URL(request.url);
  return response && response.ok && response.type === "basic" && !response.redirected
    && !url.pathname.startsWith("/accounts/") && !url.pathname.startsWith("/admin/");
}

async function trimPages(cache) {
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - MAX_PAGES; i += 1) await cache.delete(keys[i]);
}

async function fromCourses(request) {
  const names = (await caches.keys()).filter((n) => n.startsWith(COURSE_PREFIX));
  for (const name of names) {
    const cache = await caches.open(name);
    const hit = await cache.match(request, {ignoreVary: true});
    if (hit) return hit;
  }
  return null;
}

async function page(request) {
  try {
    const response = await fetch(request);
    if (isCacheablePage(request, response)) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(request, response.clone());
      trimPages(cache);
    }
    return response;
  } catch (err) {
    const cached = (await caches.match(request, {cacheName: PAGES_CACHE, ignoreVary: true}))
      || (await fromCourses(request));
    if (cached) return cached;
    return (await caches.match(OFFLINE_URL)) || new Response("offline", {status: 503});
  }
}

/** A range request answered from a whole cached file: video and audio seek offline. */
async function ranged(request, response) {
  const header = request.headers.get("range");
  const match = /^bytes=(\d*)-(\d*)$/.exec(header || "");
  if (!match) return response;
  const blob = await response.blob();
  const size = blob.size;
  let start = match[1] === "" ? null : Number(match[1]);
  let end = match[2] === "" ? null : Number(match[2]);
  if (start === null) { start = Math.max(0, size - (end || 0)); end = size - 1; }
  if (end === null || end >= size) end = size - 1;
  if (start >= size || start > end) {
    return new Response(null, {status: 416, headers: {"Content-Range": `bytes */${size}`}});
  }
  const headers = new Headers(response.headers);
  headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
  headers.set("Content-Length", String(end - start + 1));
  headers.set("Accept-Ranges", "bytes");
  return new Response(blob.slice(start, end + 1), {status: 206, statusText: "Partial Content", headers});
}

async function media(request) {
  const cached = await fromCourses(new Request(request.url));
  if (cached) return ranged(request, cached);
  return fetch(request);
}

async function staticFile(request, event) {
  const cached = await caches.match(request, {ignoreVary: true});
  const refresh = fetch(request).then(async (response) => {
    if (response.ok && !cached) {
      const cache = await caches.open(STATIC_CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => null));
    return cached;
  }
  return refresh;
}

async function other(request) {
  try {
    return await fetch(request);
  } catch (err) {
    const cached = await fromCourses(request);
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/ws/") || url.pathname === "/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (request.headers.has("range") || url.pathname.startsWith("/media/")) {
    event.respondWith(media(request));
  } else if (url.pathname.startsWith("/static/") || SHELL.includes(url.pathname)) {
    event.respondWith(staticFile(request, event));
  } else {
    // The API and the rest: the network; a course's saved copy when offline.
    event.respondWith(other(request));
  }
});

// -- Web Push ---------------------------------------------------------------------------------
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = {}; }
  const title = data.title || "Lyceum";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    icon: SHELL.find((u) => u.includes("lyceum.svg")) || undefined,
    data: {url: data.url || "/notifications/", id: data.id},
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;  // only our own pages
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
    for (const client of windows) {
      if (new URL(client.url).pathname === target.pathname && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target.href);
  })());
});

self.addEventListener("pushsubscriptionchange", (event) => {
  // Proves the old subscription (endpoint + auth secret) instead of a session: hub/push_api.py.
  event.waitUntil((async () => {
    const old = event.oldSubscription;
    if (!old) return;  // the page re-sends its subscription on the next visit (offline.js)
    const fresh = event.newSubscription || await self.registration.pushManager.subscribe(old.options);
    const oldJson = old.toJSON();
    await fetch("/api/v1/push/subscriptions/renew/", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({old_endpoint: oldJson.endpoint, old_auth: oldJson.keys.auth, subscription: fresh.toJSON()}),
    });
  })());
});
