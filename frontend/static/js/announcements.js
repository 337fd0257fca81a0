/* The announcements list: announcements posted to the current space appear at the top as
 * they are published. Subscribes to hub.space.<id> from the newest id on the page, so
 * nothing posted between the page render and the socket opening is missed. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const Lyceum = window.Lyceum;
  const list = document.getElementById("announcement-list");
  if (!list || !list.dataset.topic || !Lyceum) return;
  const topic = list.dataset.topic;
  const since = parseInt(list.dataset.since || "0", 10);
  const safeUrl = (Lyceum.shell && Lyceum.shell.safeUrl) || ((u) => u);

  function render(a) {
    const li = document.createElement("li");
    li.className = "notification fresh";
    li.dataset.id = a.id;
    const main = document.createElement("div");
    main.className = "main";
    const link = document.createElement("a");
    link.href = safeUrl(a.url) || "#";
    link.textContent = a.title;
    const meta = document.createElement("small");
    const parts = [a.author, list.dataset.spaceName].filter(Boolean);
    meta.textContent = parts.join(" · ") + " · ";
    const time = document.createElement("time");
    if (a.created_at) time.setAttribute("datetime", a.created_at);
    time.textContent = gettext("just now");
    meta.appendChild(time);
    main.append(link, " ", meta);
    li.appendChild(main);
    return li;
  }

  Lyceum.realtime.on(topic, "announcement.created", (a) => {
    if (!a || list.querySelector('[data-id="' + a.id + '"]')) return;
    const empty = document.getElementById("announcement-empty");
    if (empty) empty.remove();
    // Newest first: put it before the first item with a smaller id (replays come in order).
    const older = Array.from(list.querySelectorAll("li[data-id]"))
      .find((li) => Number(li.dataset.id) < a.id);
    list.insertBefore(render(a), older || null);
  });
  Lyceum.realtime.subscribe(topic, {since: since});
})();
