/* The page shell: the live bell, counters mirrored into the tab bar, toasts placed clear of
 * the page's controls, and the browser's time zone saved once. Page scripts
 * (notifications.js, announcements.js) use the helpers exported as window.Lyceum.shell. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((s, p, n) => (n === 1 ? s : p));
  const interpolate = window.interpolate || ((fmt, args) => fmt.replace("%s", args[0]));
  const userId = document.body.dataset.userId;
  const Lyceum = (window.Lyceum = window.Lyceum || {});

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

  /** The controls a toast must never cover: the page's buttons, links and fields. */
  function pageControls() {
    return Array.from(document.querySelectorAll(
      "main a[href], main button, main input, main select, main textarea, main summary"))
      .map((el) => el.getBoundingClientRect())
      .filter((r) => r.width > 0 && r.height > 0);
  }
  /** Put the stack at the bottom (above the tab bar); if a control of the page is under
   * it there, move it up to the lowest band of the screen where it covers none. */
  function placeToasts(box) {
    box.style.top = "";
    box.style.bottom = "";
    const rect = box.getBoundingClientRect();
    if (!rect.height) return;
    const controls = pageControls().filter((r) => r.left < rect.right && rect.left < r.right);
    const clear = (top) => !controls.some((r) => r.top < top + rect.height + 4 && top - 4 < r.bottom);
    if (clear(rect.top)) return;
    const header = document.querySelector(".site-header");
    const minTop = (header ? header.getBoundingClientRect().bottom : 0) + 8;
    const candidates = [minTop];
    controls.forEach((r) => { candidates.push(r.top - rect.height - 8, r.bottom + 8); });
    const fits = candidates.filter((t) => t >= minTop && t <= rect.top && clear(t));
    if (!fits.length) return; // a screen full of controls: the bottom, dismissable
    box.style.top = Math.max.apply(null, fits) + "px";
    box.style.bottom = "auto";
  }

  function toast(text, href) {
    const box = document.getElementById("toasts");
    if (!box) return null;
    const target = safeUrl(href);
    const item = document.createElement("div");
    item.className = "toast";
    const body = document.createElement(target ? "a" : "span");
    body.className = "toast-text";
    body.textContent = text;
    if (target) body.href = target;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", gettext("Dismiss"));
    close.textContent = "\u00d7";
    close.addEventListener("click", () => { item.remove(); });
    item.append(body, close);
    box.appendChild(item);
    placeToasts(box);
    // Gone after 8 s, but not while the pointer or the keyboard is on it.
    let hold = false;
    const hide = () => { if (!hold) item.remove(); else setTimeout(hide, 1000); };
    ["mouseenter", "focusin"].forEach((e) => item.addEventListener(e, () => { hold = true; }));
    ["mouseleave", "focusout"].forEach((e) => item.addEventListener(e, () => { hold = false; }));
    setTimeout(hide, 8000);
    return item;
  }
  window.addEventListener("resize", () => {
    const box = document.getElementById("toasts");
    if (box && box.children.length) placeToasts(box);
  });
  window.addEventListener("scroll", () => {
    const box = document.getElementById("toasts");
    if (box && box.children.length) placeToasts(box);
  }, {passive: true});

  // Counters drawn twice (the header's and the tab bar's): copies follow their source.
  document.querySelectorAll("[data-mirror]").forEach((copy) => {
    const source = document.getElementById(copy.dataset.mirror);
    if (!source) return;
    const sync = () => { copy.textContent = source.textContent.trim(); copy.hidden = source.hidden; };
    new MutationObserver(sync).observe(source, {childList: true, characterData: true, subtree: true, attributes: true, attributeFilter: ["hidden"]});
    sync();
  });

  // The viewer's zone defaults to the browser's: saved once with a POST (never on a GET).
  const detect = document.body.dataset.detectTimeZone;
  if (detect && window.Intl) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      const form = new FormData();
      form.append("time_zone", zone);
      fetch(detect, {method: "POST", body: form, credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken()}}).catch(() => {});
    }
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

  Lyceum.shell = {safeUrl: safeUrl, csrfToken: csrfToken, toast: toast, setCount: setCount, placeToasts: placeToasts};
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
