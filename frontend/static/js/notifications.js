/* The notifications page: new notifications appear live at the top, "mark as read" and
 * "mark all as read" work in place (POST /api/v1/notifications/mark-read/), and the forms
 * still work without scripts. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const Lyceum = window.Lyceum;
  const list = document.getElementById("notification-list");
  const userId = document.body.dataset.userId;
  if (!list || !userId || !Lyceum || !Lyceum.shell) return;
  const shell = Lyceum.shell;
  const topic = "hub.user." + userId;

  function markRead(ids) {
    return fetch("/api/v1/notifications/mark-read/", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": shell.csrfToken()},
      body: JSON.stringify(ids ? {ids: ids} : {}),
    }).then((response) => {
      if (!response.ok) throw new Error("mark-read failed: " + response.status);
      return response.json();
    });
  }

  function showRead(ids) {
    list.querySelectorAll(".notification.unread").forEach((li) => {
      if (ids === "all" || ids.includes(Number(li.dataset.id))) {
        const focused = li.contains(document.activeElement);
        li.classList.remove("unread");
        const form = li.querySelector("form.mark-read");
        if (form) form.remove();
        // Keep keyboard users where they were: on the item's link.
        if (focused) li.querySelector("a").focus();
      }
    });
  }

  function markReadForm(n) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/notifications/" + n.id + "/read/";
    form.className = "inline-form mark-read";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrfmiddlewaretoken";
    csrf.value = shell.csrfToken();
    const next = document.createElement("input");
    next.type = "hidden";
    next.name = "next";
    next.value = list.dataset.next || "/notifications/";
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "small-button";
    button.append(gettext("Mark as read"));
    const hint = document.createElement("span");
    hint.className = "sr-only";
    hint.textContent = ": " + (n.verb || "");
    button.appendChild(hint);
    form.append(csrf, next, button);
    return form;
  }

  function render(n) {
    const li = document.createElement("li");
    li.className = "notification fresh" + (n.unread ? " unread" : "");
    li.dataset.id = n.id;
    const main = document.createElement("div");
    main.className = "main";
    const flag = document.createElement("span");
    flag.className = "unread-flag sr-only";
    flag.textContent = gettext("Unread:");
    const link = document.createElement("a");
    link.href = shell.safeUrl(n.url) || "#";
    link.textContent = n.verb;
    const meta = document.createElement("small");
    meta.textContent = (n.actor ? n.actor + " · " : "") + gettext("just now");
    main.append(flag, " ", link, " ", meta);
    if (n.description) {
      const p = document.createElement("p");
      p.textContent = n.description;
      main.appendChild(p);
    }
    li.appendChild(main);
    if (n.unread) li.appendChild(markReadForm(n));
    return li;
  }

  // Only the first page shows the newest notifications; older pages stay as they are.
  if (list.dataset.live) {
    Lyceum.realtime.on(topic, "notification.created", (n) => {
      if (list.querySelector('[data-id="' + n.id + '"]')) return;
      const empty = document.getElementById("notification-empty");
      if (empty) empty.remove();
      list.prepend(render(n));
    });
  }
  // Read elsewhere (another tab, the mark-all form): reflect it here.
  Lyceum.realtime.on(topic, "notifications.read", (data) => showRead(data.ids));

  list.addEventListener("submit", (event) => {
    const form = event.target.closest("form.mark-read");
    if (!form) return;
    const li = form.closest(".notification");
    const id = Number(li && li.dataset.id);
    if (!id) return;
    event.preventDefault();
    markRead([id]).then((data) => {
      showRead([id]);
      shell.setCount(data.unread_count);
    }).catch(() => form.submit());   // the plain form still does the job
  });

  const all = document.getElementById("mark-all-read");
  if (all) {
    all.addEventListener("submit", (event) => {
      event.preventDefault();
      markRead(null).then((data) => {
        showRead("all");
        shell.setCount(data.unread_count);
        shell.toast(gettext("All notifications marked as read."));
      }).catch(() => all.submit());
    });
  }
})();
