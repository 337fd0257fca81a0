/* Search: results as you type (debounced, stale answers dropped), a keyboard-navigable
 * list (combobox + listbox: ↑ ↓ move, Enter opens, Escape leaves the list), and the
 * result count announced politely. Without this script the form works as a plain GET. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((s, p, n) => (n === 1 ? s : p));
  const interpolate = window.interpolate || ((f, a) => f.replace("%s", a[0]));
  const form = document.getElementById("search-form");
  if (!form) return;
  const input = document.getElementById("search-q");
  const list = document.getElementById("search-results");
  const status = document.getElementById("search-status");
  const pager = document.getElementById("search-pager");
  const template = document.getElementById("search-hit-template");
  const DEBOUNCE_MS = 250;
  const MIN_CHARS = 2;
  let timer = null;
  let controller = null;
  let active = -1;
  let page = 1;

  function options() { return Array.from(list.querySelectorAll("[role=option]")); }

  function setActive(index) {
    const items = options();
    items.forEach((item, i) => {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
      item.classList.toggle("active", i === index);
    });
    active = index;
    if (index >= 0 && items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({block: "nearest"});
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function params() {
    const data = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) {
      if (value !== "") data.append(key, value);
    }
    if (page > 1) data.set("page", String(page));
    return data;
  }

  function render(data, query) {
    list.replaceChildren();
    data.results.forEach((hit, i) => {
      const item = template.content.firstElementChild.cloneNode(true);
      item.id = "hit-" + (i + 1);
      item.querySelector(".hit-link").href = hit.url;
      item.querySelector(".hit-kind").textContent = hit.kind;
      // Escaped by the server; <mark> is its only markup (search.selectors.highlighted).
      item.querySelector(".hit-title").innerHTML = hit.title_html || "";
      item.querySelector(".hit-snippet").innerHTML = hit.snippet_html;
      item.querySelector(".hit-context").textContent = hit.context;
      const author = item.querySelector(".hit-author");
      if (hit.author) {
        author.textContent = hit.author.name;
        author.href = "?" + new URLSearchParams({q: query, author: hit.author.id});
      } else {
        author.remove();
      }
      const when = item.querySelector(".hit-date");
      when.dateTime = hit.created_at;
      when.textContent = new Date(hit.created_at).toLocaleString();
      item.querySelector(".hit-attachment").hidden = !hit.has_attachment;
      item.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus
      list.appendChild(item);
    });
    const count = data.results.length;
    input.setAttribute("aria-expanded", count ? "true" : "false");
    status.textContent = count
      ? interpolate(ngettext("%s result on this page", "%s results on this page", count), [count])
      : gettext("Nothing found.");
    pager.replaceChildren();
    const link = (label, target, rel) => {
      const a = document.createElement("a");
      a.href = "#";
      a.rel = rel;
      a.textContent = label;
      a.addEventListener("click", (e) => { e.preventDefault(); page = target; run(); input.focus(); });
      pager.appendChild(a);
    };
    if (data.page > 1) link(gettext("Previous"), data.page - 1, "prev");
    if (data.has_next) link(gettext("Next"), data.page + 1, "next");
    setActive(-1);
  }

  async function run() {
    const query = input.value;
    const data = params();
    history.replaceState(null, "", "?" + data.toString());
    if (query.trim().length < MIN_CHARS) {
      if (controller) controller.abort();
      list.replaceChildren();
      pager.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      status.textContent = "";
      return;
    }
    if (controller) controller.abort(); // an older, slower answer must not win
    controller = new AbortController();
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.api + "?" + data.toString(), {
        credentials: "same-origin",
        headers: {Accept: "application/json"},
        signal: controller.signal,
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const err = (body && body.error) || {};
        let message = err.message || gettext("Search is unavailable right now.");
        if (err.details) {
          const flat = [].concat(...Object.values(err.details).map((v) => [].concat(v)));
          if (flat.length) message = flat.join(" ");
        }
        list.replaceChildren();
        pager.replaceChildren();
        status.textContent = message;
        return;
      }
      render(body, query);
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = gettext("Search is unavailable right now.");
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  function schedule() {
    page = 1;
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }

  input.addEventListener("input", schedule);
  form.addEventListener("change", (e) => { if (e.target !== input) schedule(); });
  form.addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(timer); page = 1; run(); });
  input.addEventListener("keydown", (e) => {
    const items = options();
    if (e.key === "ArrowDown" && items.length) {
      e.preventDefault();
      setActive(Math.min(active + 1, items.length - 1));
    } else if (e.key === "ArrowUp" && items.length) {
      e.preventDefault();
      setActive(Math.max(active - 1, -1));
    } else if (e.key === "Enter" && active >= 0 && items[active]) {
      e.preventDefault();
      window.location.assign(items[active].querySelector(".hit-link").href);
    } else if (e.key === "Escape" && active >= 0) {
      e.preventDefault();
      setActive(-1);
    }
  });
  // The shell's top-bar search sends people here with ?q=: show results at once.
  if (input.value.trim().length >= MIN_CHARS && !list.children.length) run();
})();
