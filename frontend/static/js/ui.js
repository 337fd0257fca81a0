/* The design system's behaviours (docs/INTERFACE.md), one per component, and the one date
 * helper. Loaded on every page, before the page's own scripts:
 *   Lyceum.formatDate(value, style)  "Sat 12 Dec 2026, 14:00" in the viewer's zone;
 *                                    style "date", "time", "datetime" or "relative" ("in 2 h")
 *   menus   <details class="menu" data-menu>: Escape and outside clicks close; one open at once
 *   tabs    .tabs [role=tablist]: arrows, Home and End move between tabs
 *   dialogs <button data-dialog-open="id"> opens <dialog id> modally; [data-dialog-close] closes */
(function () {
  "use strict";
  const Lyceum = (window.Lyceum = window.Lyceum || {});
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((s, p, n) => (n === 1 ? s : p));
  const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (m, k) => obj[k]));

  // ---- dates: the same display as the server's `when` filter (frontend/templatetags/ui.py)
  const lang = document.documentElement.lang || "en";
  const zone = document.body.dataset.timeZone || undefined;

  function parts(date, options) {
    const out = {};
    try {
      new Intl.DateTimeFormat(lang, Object.assign({timeZone: zone}, options))
        .formatToParts(date).forEach((p) => { out[p.type] = p.value; });
    } catch (e) { // an unknown zone name: the browser's own
      new Intl.DateTimeFormat(lang, options).formatToParts(date).forEach((p) => { out[p.type] = p.value; });
    }
    return out;
  }

  function relative(date, now) {
    const seconds = (date.getTime() - (now || Date.now())) / 1000;
    const size = Math.abs(seconds);
    if (size < 60) return gettext("now");
    let amount;
    if (size >= 86400) {
      const n = Math.floor(size / 86400);
      amount = interpolate(ngettext("%(n)s day", "%(n)s days", n), {n: n}, true);
    } else if (size >= 3600) {
      const n = Math.floor(size / 3600);
      amount = interpolate(ngettext("%(n)s h", "%(n)s h", n), {n: n}, true);
    } else {
      const n = Math.floor(size / 60);
      amount = interpolate(ngettext("%(n)s min", "%(n)s min", n), {n: n}, true);
    }
    return interpolate(seconds >= 0 ? gettext("in %(amount)s") : gettext("%(amount)s ago"),
      {amount: amount}, true);
  }

  /** ``value`` (a Date, an ISO string or milliseconds) in the viewer's zone and language. */
  function formatDate(value, style) {
    const date = value instanceof Date ? value : new Date(value);
    if (isNaN(date.getTime())) return "";
    style = style || "datetime";
    if (style === "relative") return relative(date);
    const p = parts(date, {weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
    const day = [p.weekday, p.day, p.month, p.year].filter(Boolean).join(" ").replace(/,/g, "");
    const time = p.hour + ":" + p.minute;
    if (style === "date") return day;
    if (style === "time") return time;
    return day + ", " + time;
  }
  Lyceum.formatDate = formatDate;
  Lyceum.timeZone = zone;

  // Relative times on the page stay true while it is open.
  function refreshRelative() {
    document.querySelectorAll("time[data-relative][datetime]").forEach((el) => {
      const text = formatDate(el.getAttribute("datetime"), "relative");
      if (text && el.textContent !== text) el.textContent = text;
    });
  }
  setInterval(refreshRelative, 60 * 1000);

  // ---- menus
  const menus = () => document.querySelectorAll("details[data-menu]");
  document.addEventListener("toggle", (event) => {
    const opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.matches("[data-menu]") || !opened.open) return;
    menus().forEach((m) => { if (m !== opened && !m.contains(opened)) m.open = false; });
  }, true);
  document.addEventListener("click", (event) => {
    menus().forEach((m) => { if (m.open && !m.contains(event.target)) m.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    menus().forEach((m) => {
      if (!m.open) return;
      m.open = false;
      if (m.contains(document.activeElement)) m.querySelector("summary").focus();
    });
  });

  // ---- tabs
  document.querySelectorAll(".tabs [role=tablist]").forEach((list) => {
    const tabs = Array.from(list.querySelectorAll("[role=tab]"));
    function select(tab) {
      tabs.forEach((t) => {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        const panel = document.getElementById(t.getAttribute("aria-controls"));
        if (panel) panel.hidden = !on;
      });
    }
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (event) => {
        const moves = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1};
        if (!(event.key in moves)) return;
        event.preventDefault();
        const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
        select(next);
        next.focus();
      });
    });
  });

  // ---- dialogs
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog && typeof dialog.showModal === "function") { dialog.showModal(); event.preventDefault(); }
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // ---- scrolling tables: keyboard users can scroll them too (a focusable, named region).
  document.querySelectorAll(".table-scroll").forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      if (!box.hasAttribute("role")) box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        const caption = box.querySelector("caption");
        box.setAttribute("aria-label", caption ? caption.textContent.trim() : gettext("Table, scrolls sideways"));
      }
    }
  });
})();
