/* Forums, shared bits: REST calls, composer preview, follow buttons, the moderation queue,
 * and the live thread list of a forum page (topic forums.forum.<id>). */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const Lyceum = window.Lyceum || {};

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function api(url, method, body) {
    const response = await fetch(url, {
      method: method || "GET",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = (data && data.error) || {};
      let message = err.message || gettext("Something went wrong.");
      if (err.details) {
        const flat = [].concat(...Object.values(err.details).map((v) => [].concat(v)));
        if (flat.length) message = flat.join(" ");
      }
      throw new Error(message);
    }
    return data;
  }

  function toast(text) {
    if (Lyceum.shell && Lyceum.shell.toast) Lyceum.shell.toast(text);
    else if (Lyceum.toast) Lyceum.toast(text);
  }

  // Composer preview: the server renders with the one sanitising policy.
  document.querySelectorAll(".preview-button").forEach((button) => {
    button.addEventListener("click", async () => {
      const form = button.closest("form");
      const box = form.querySelector(".preview");
      const text = form.querySelector("textarea[name=body]").value;
      try {
        const data = await api("/api/v1/forums/preview/", "POST", {body: text});
        box.innerHTML = data.body_html;   // sanitised server-side by hub/sanitize.py
        box.hidden = false;
      } catch (e) {
        toast(e.message);
      }
    });
  });

  document.querySelectorAll("button.follow").forEach((button) => {
    button.addEventListener("click", async () => {
      const on = button.dataset.on !== "1";
      try {
        await api(button.dataset.followUrl, "POST", {on: on});
        button.dataset.on = on ? "1" : "0";
        button.setAttribute("aria-pressed", String(on));
        button.textContent = on ? gettext("Following") : gettext("Follow");
      } catch (e) {
        toast(e.message);
      }
    });
  });

  document.querySelectorAll("button.flag-resolve").forEach((button) => {
    button.addEventListener("click", async () => {
      try {
        await api(button.dataset.url, "POST", {hide: button.dataset.hide === "1"});
        button.closest("li").remove();
      } catch (e) {
        toast(e.message);
      }
    });
  });

  // A forum page: new threads and latest activity, live.
  const list = document.getElementById("thread-list");
  if (list && list.dataset.topic && Lyceum.realtime) {
    const topic = list.dataset.topic;
    Lyceum.realtime.on(topic, "thread.created", (t) => {
      if (list.querySelector('[data-id="' + t.id + '"]')) return;
      const empty = document.getElementById("thread-empty");
      if (empty) empty.remove();
      const li = document.createElement("li");
      li.className = "card thread-row fresh";
      li.dataset.id = t.id;
      const a = document.createElement("a");
      a.href = t.url;
      const strong = document.createElement("strong");
      strong.textContent = t.title;
      a.appendChild(strong);
      const meta = document.createElement("small");
      meta.className = "muted";
      meta.append(t.author.name + " · ");
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = t.post_count;
      meta.append(count, " " + gettext("posts") + " · ");
      const act = document.createElement("span");
      act.className = "activity";
      act.textContent = gettext("just now");
      meta.append(act);
      li.append(a, " ", meta);
      const firstUnpinned = Array.from(list.children).find((el) => !el.querySelector(".tag"));
      list.insertBefore(li, firstUnpinned || list.firstChild);
    });
    Lyceum.realtime.on(topic, "thread.activity", (t) => {
      const row = list.querySelector('[data-id="' + t.id + '"]');
      if (!row) return;
      const count = row.querySelector(".count");
      if (count) count.textContent = t.post_count;
      const act = row.querySelector(".activity");
      if (act) act.textContent = gettext("just now") + " · " + t.last_author;
    });
    Lyceum.realtime.subscribe(topic, {since: parseInt(list.dataset.since || "0", 10)});
  }

  // "Start a thread" in the toolbar opens the composer (a <details>) and focuses its title.
  document.querySelectorAll("a.start-thread").forEach((link) => {
    link.addEventListener("click", (event) => {
      const composer = document.querySelector("details.composer");
      if (!composer) return;
      event.preventDefault();
      composer.open = true;
      composer.scrollIntoView({block: "start"});
      const title = composer.querySelector("input[name=title]");
      if (title) title.focus();
    });
  });

  window.LyceumForums = {api: api, toast: toast, csrf: csrf};
})();
