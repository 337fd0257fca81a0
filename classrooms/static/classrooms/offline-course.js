/* "Make available offline" on a course page (docs/OFFLINE.md): saves the course's pages,
 * the files they use, its media and documents in the cache "lyceum-course-<id>" (the
 * service worker answers from it offline, range requests included), and each quiz's
 * questions (no answers) with its ticket in IndexedDB (offline-quiz.js). Shows the
 * storage it takes; "Remove" frees it. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const box = document.querySelector("[data-testid=offline-pack]");
  const Lyceum = window.Lyceum || {};
  if (!box || !("caches" in window) || !Lyceum.offline) return;
  const courseId = box.dataset.course;
  const cacheName = "lyceum-course-" + courseId;
  const text = box.querySelector("[data-offline-text]");
  const bar = box.querySelector("progress");
  const save = box.querySelector("[data-offline-save]");
  const remove = box.querySelector("[data-offline-remove]");
  const kv = Lyceum.offline.kv;

  function size(bytes) {
    if (bytes >= 1e9) return (bytes / 1e9).toFixed(1) + " GB";
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1e3)) + " kB";
  }

  async function show() {
    const saved = await kv.get("course:" + courseId);
    box.hidden = false;
    remove.hidden = !saved;
    save.textContent = saved ? gettext("Update the offline copy") : gettext("Make available offline");
    save.hidden = !navigator.onLine && Boolean(saved);
    if (saved) {
      let line = interpolate(gettext("Available offline on this device (%s)."), [size(saved.bytes)]);
      if (navigator.storage && navigator.storage.estimate) {
        const estimate = await navigator.storage.estimate();
        line += " " + interpolate(gettext("Lyceum uses %s of this device's storage."), [size(estimate.usage || 0)]);
      }
      text.textContent = line;
    }
    box.dataset.state = saved ? "saved" : "none";
  }

  /** The same-origin files a page loads (its scripts, styles, images): needed to show it. */
  function assetsOf(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const found = new Set();
    doc.querySelectorAll("script[src], link[rel=stylesheet][href], img[src], link[rel=icon][href], source[src], video[src], audio[src]")
      .forEach((el) => {
        const url = new URL(el.getAttribute("src") || el.getAttribute("href"), location.href);
        if (url.origin === location.origin) found.add(url.pathname + url.search);
      });
    return found;
  }

  async function makeOffline() {
    save.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    text.textContent = gettext("Saving the course on this device…");
    const started = performance.now();
    try {
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
      const response = await fetch(box.dataset.packUrl, {credentials: "same-origin"});
      if (!response.ok) throw new Error("HTTP " + response.status);
      const pack = await response.json();
      await caches.delete(cacheName);  // a fresh copy, nothing stale left behind
      const cache = await caches.open(cacheName);
      const todo = pack.urls.map((u) => u.url);
      const done = new Set();
      let bytes = 0;
      for (let i = 0; i < todo.length; i += 1) {
        const url = todo[i];
        if (done.has(url)) continue;
        done.add(url);
        const target = new URL(url, location.href);
        if (target.origin !== location.origin) continue;  // a link elsewhere: not ours to keep
        const got = await fetch(url, {credentials: "same-origin"});
        if (!got.ok || got.status !== 200) continue;
        const copy = got.clone();
        const blob = await got.blob();
        bytes += blob.size;
        await cache.put(url, copy);
        if ((got.headers.get("content-type") || "").startsWith("text/html")) {
          for (const asset of assetsOf(await blob.text())) if (!done.has(asset)) todo.push(asset);
        }
        bar.value = Math.round((100 * (i + 1)) / todo.length);
      }
      for (const quiz of pack.quizzes) await kv.set("quiz:" + quiz.activity, quiz);
      await kv.set("course:" + courseId, {
        bytes: bytes, files: done.size, saved_at: new Date().toISOString(),
        ms: Math.round(performance.now() - started), quizzes: pack.quizzes.map((q) => q.activity),
      });
      box.dataset.ms = String(Math.round(performance.now() - started));
    } catch (err) {
      text.textContent = gettext("The course could not be saved on this device. Try again online.");
      save.disabled = false;
      bar.hidden = true;
      return;
    }
    save.disabled = false;
    bar.hidden = true;
    await show();
  }

  async function removeOffline() {
    const saved = await kv.get("course:" + courseId);
    await caches.delete(cacheName);
    for (const id of (saved && saved.quizzes) || []) await kv.delete("quiz:" + id);
    await kv.delete("course:" + courseId);
    text.textContent = gettext("Removed from this device.");
    await show();
  }

  /** Progress from the local state: activities done on this device whose completion
   * still waits in the outbox show as done (pending); the server's figure takes over when
   * they are sent (the page's live progress, or the next load). */
  async function localProgress() {
    if (!Lyceum.outbox) return;
    const entries = await Lyceum.outbox.all().catch(() => []);
    let added = 0;
    for (const entry of entries) {
      const match = /^\/api\/v1\/activities\/(\d+)\/complete\/$/.exec(entry.url || "");
      const item = match && document.querySelector(`li[data-activity="${match[1]}"]`);
      if (!item || item.classList.contains("done")) continue;
      item.classList.add("done");
      item.dataset.pending = "1";
      const check = item.querySelector(".check");
      if (check) check.textContent = "✔";
      added += 1;
    }
    const bar = document.getElementById("my-progress-bar");
    const value = document.getElementById("my-progress-value");
    const required = document.querySelectorAll("[data-testid=outline] li[data-activity]").length;
    if (added && bar && value && required) {
      const done = document.querySelectorAll("[data-testid=outline] li[data-activity].done").length;
      const local = Math.max(Number(bar.value), Math.round((100 * done) / required));
      bar.value = local;
      value.textContent = String(local);
      bar.dataset.local = "1";
    }
  }

  save.addEventListener("click", makeOffline);
  localProgress();
  remove.addEventListener("click", removeOffline);
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
})();
