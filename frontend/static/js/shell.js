/* The page shell: menu toggle, the live bell, toasts, and the notifications list. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const userId = document.body.dataset.userId;

  const toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      document.getElementById("main-nav").classList.toggle("open", !open);
    });
  }
  if (!userId) return;

  const count = document.getElementById("bell-count");
  function setCount(n) {
    if (!count) return;
    count.textContent = String(Math.max(0, n));
    count.hidden = n <= 0;
  }
  function currentCount() { return parseInt(count && count.textContent, 10) || 0; }

  function toast(text, href) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement(href ? "a" : "div");
    item.className = "toast";
    item.textContent = text;
    if (href) item.href = href;
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  }

  function renderNotification(n) {
    const li = document.createElement("li");
    li.className = "notification" + (n.unread ? " unread" : "");
    li.dataset.id = n.id;
    const link = document.createElement("a");
    link.href = n.url || "#";
    link.textContent = n.verb;
    const meta = document.createElement("small");
    meta.textContent = " " + (n.actor || "");
    li.append(link, meta);
    if (n.description) {
      const p = document.createElement("p");
      p.textContent = n.description;
      li.appendChild(p);
    }
    return li;
  }

  const rt = window.Lyceum.realtime;
  const topic = "hub.user." + userId;
  const list = document.getElementById("notification-list");
  const since = parseInt(document.body.dataset.lastNotificationId || "", 10);
  rt.on(topic, "notification.created", (n) => {
    if (list && !list.querySelector('[data-id="' + n.id + '"]')) {
      list.prepend(renderNotification(n));
      const empty = document.getElementById("notification-empty");
      if (empty) empty.remove();
    }
    if (n.unread) setCount(currentCount() + 1);
    toast(n.verb, n.url);
  });
  rt.on(topic, "notifications.read", (data) => {
    setCount(data.unread_count);
    if (list) list.querySelectorAll(".notification.unread").forEach((li) => {
      if (data.ids === "all" || data.ids.includes(Number(li.dataset.id))) li.classList.remove("unread");
    });
  });
  // After a reconnect the count may have moved while we were away: ask once.
  let first = true;
  rt.onStatus("resumed", (t) => {
    if (t !== topic) return;
    if (first) { first = false; return; }
    fetch("/api/v1/notifications/unread-count/", {credentials: "same-origin"})
      .then((r) => r.json()).then((d) => setCount(d.unread_count)).catch(() => {});
  });
  rt.subscribe(topic, Number.isInteger(since) ? {since: since} : undefined);
  window.Lyceum.toast = toast;
})();
