/* The page shell: menu toggle, the live bell and toasts. Page scripts (notifications.js,
 * announcements.js) use the helpers exported as window.Lyceum.shell. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((s, p, n) => (n === 1 ? s : p));
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const userId = document.body.dataset.userId;
  const Lyceum = (window.Lyceum = window.Lyceum || {});

  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("open", !open);
    });
    // Escape closes the small-screen menu and gives focus back to its button.
    nav.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        toggle.setAttribute("aria-expanded", "false");
        nav.classList.remove("open");
        toggle.focus();
      }
    });
  }

  /** Only same-site paths and http(s) addresses become links (never javascript:). */
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    if (url.startsWith("/") && !url.startsWith("//")) return url;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  /** The CSRF token of the page (every form of the shell carries one). */
  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function toast(text, href) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const target = safeUrl(href);
    const item = document.createElement(target ? "a" : "div");
    item.className = "toast";
    item.textContent = text;
    if (target) item.href = target;
    box.appendChild(item);
    // Gone after 6 s, but not while the pointer or the keyboard is on it.
    let hold = false;
    const hide = () => { if (!hold) item.remove(); else setTimeout(hide, 1000); };
    ["mouseenter", "focus"].forEach((e) => item.addEventListener(e, () => { hold = true; }));
    ["mouseleave", "blur"].forEach((e) => item.addEventListener(e, () => { hold = false; }));
    setTimeout(hide, 6000);
  }

  const count = document.getElementById("bell-count");
  const label = document.getElementById("bell-label");
  function setCount(n) {
    n = Math.max(0, n | 0);
    if (count) {
      count.textContent = String(n);
      count.hidden = n <= 0;
    }
    if (label) {
      label.textContent = interpolate(
        ngettext("Notifications, %s unread", "Notifications, %s unread", n), [n]);
    }
  }
  function currentCount() { return parseInt(count && count.textContent, 10) || 0; }

  Lyceum.shell = {safeUrl: safeUrl, csrfToken: csrfToken, toast: toast, setCount: setCount};
  Lyceum.toast = toast;
  if (!userId) return;

  const rt = Lyceum.realtime;
  const topic = "hub.user." + userId;
  const since = parseInt(document.body.dataset.lastNotificationId || "", 10);
  rt.on(topic, "notification.created", (n) => {
    if (n.unread) setCount(currentCount() + 1);
    toast(n.verb || gettext("New notification"), n.url);
  });
  rt.on(topic, "notifications.read", (data) => setCount(data.unread_count));
  // After a reconnect the count may have moved while we were away: ask once.
  let first = true;
  rt.onStatus("resumed", (t) => {
    if (t !== topic) return;
    if (first) { first = false; return; }
    fetch("/api/v1/notifications/unread-count/", {credentials: "same-origin"})
      .then((r) => r.json()).then((d) => setCount(d.unread_count)).catch(() => {});
  });
  rt.subscribe(topic, Number.isInteger(since) ? {since: since} : undefined);
})();
