/* The home page (frontend/home.py, docs/HOME.md).
 * - Each section lists its topics in data-topics: on any event of one, the section is
 *   fetched again from data-home-url and swapped in (debounced), so it stays current.
 * - Charts (data-lazy-chart) are fetched when they scroll into view.
 * - Seat offers count down every second (time[data-countdown]).
 * - The administrator's health card asks /healthz.
 */
(function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const rt = window.Lyceum && window.Lyceum.realtime;

  function loadCharts(root) {
    const charts = root.querySelectorAll("[data-lazy-chart]");
    if (!charts.length) return;
    const load = (el) => {
      const url = el.getAttribute("data-lazy-chart");
      el.removeAttribute("data-lazy-chart");
      fetch(url, {credentials: "same-origin"})
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          // Server-drawn SVG (classrooms/charts.py escapes every text), same origin.
          el.innerHTML = html;
          el.removeAttribute("aria-busy");
        })
        .catch(() => {
          el.textContent = _("The chart could not be loaded.");
          el.removeAttribute("aria-busy");
        });
    };
    if (!("IntersectionObserver" in window)) {
      charts.forEach(load);
      return;
    }
    const seen = new IntersectionObserver((entries) => {
      entries.forEach((entry) => {
        if (entry.isIntersecting) {
          seen.unobserve(entry.target);
          load(entry.target);
        }
      });
    }, {rootMargin: "200px"});
    charts.forEach((el) => seen.observe(el));
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach((el) => {
      const left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      if (isNaN(left)) return;
      if (left <= 0) {
        el.textContent = _("expired");
        return;
      }
      const h = Math.floor(left / 3600);
      const m = Math.floor((left % 3600) / 60);
      const s = left % 60;
      const text = h > 0 ? h + " h " + pad(m) + " min" : m + " min " + pad(s) + " s";
      el.textContent = interpolate(_("%s left"), [text]);
    });
  }

  function interpolate(fmt, args) {
    if (window.interpolate) return window.interpolate(fmt, args);
    return fmt.replace("%s", args[0]);
  }

  const timers = new Map();

  function refresh(section) {
    const name = section.getAttribute("data-home-section");
    clearTimeout(timers.get(name));
    timers.set(name, setTimeout(() => {
      fetch(section.getAttribute("data-home-url"), {credentials: "same-origin"})
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          const current = document.querySelector('[data-home-section="' + name + '"]');
          if (!current) return;
          const box = document.createElement("template");
          box.innerHTML = html.trim();
          const fresh = box.content.firstElementChild;
          if (!fresh) return;
          // Keep the focus where it was, if the same control is still there.
          const focused = current.contains(document.activeElement) && document.activeElement.getAttribute("data-testid");
          current.replaceWith(fresh);
          watch(fresh);
          loadCharts(fresh);
          tick();
          fresh.setAttribute("data-refreshed", String(Date.now()));
          if (focused) {
            const again = fresh.querySelector('[data-testid="' + focused + '"]');
            if (again) again.focus();
          }
        })
        .catch(() => {});
    }, 300));
  }

  const watched = new Set();

  function watch(section) {
    if (!rt) return;
    const topics = (section.getAttribute("data-topics") || "").split(" ").filter(Boolean);
    topics.forEach((topic) => {
      const key = section.getAttribute("data-home-section") + "|" + topic;
      if (watched.has(key)) return;
      watched.add(key);
      rt.on(topic, "*", () => {
        const current = document.querySelector(
          '[data-home-section="' + section.getAttribute("data-home-section") + '"]');
        if (current) refresh(current);
      });
      rt.subscribe(topic);
    });
  }

  function health() {
    const box = document.querySelector("[data-health]");
    if (!box) return;
    const show = (report) => {
      box.querySelectorAll("[data-check]").forEach((dd) => {
        const value = report[dd.getAttribute("data-check")] || _("unknown");
        dd.textContent = value === "ok" ? _("OK") : value;
        dd.classList.toggle("ok", value === "ok");
        dd.classList.toggle("down", value !== "ok");
      });
    };
    fetch(box.getAttribute("data-health"), {credentials: "same-origin", cache: "no-store"})
      .then((r) => r.json())
      .then(show)
      .catch(() => show({}));
  }

  document.querySelectorAll("[data-home-section]").forEach((section) => {
    watch(section);
    loadCharts(section);
  });
  tick();
  setInterval(tick, 1000);
  health();
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("[data-health-refresh]")) health();
  });
})();
