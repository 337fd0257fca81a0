/* A person's level and streak chips (home page, profile), kept live: the person hears their
 * own on their feed (hub.user.<id>, "levels.progress"), others on levels.person.<id>
 * ("progress.updated", only what the person shows). The home page's streak figure too. */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (_, k) => o[k]));
  if (!Lyceum || !Lyceum.realtime) return;
  const rt = Lyceum.realtime;
  const me = Number(document.body.dataset.userId);
  document.querySelectorAll("[data-progress-person]").forEach((chips) => {
    if (chips.dataset.live) return;
    chips.dataset.live = "1";
    const person = Number(chips.dataset.progressPerson);
    const space = Number(chips.dataset.progressSpace);
    const levelChip = chips.querySelector("[data-testid=level-chip]");
    const streakChip = chips.querySelector("[data-testid=streak-chip]");
    // Only what the page showed is kept live: what is hidden from this viewer is never sent.
    function show(d) {
      if (d.user !== person || d.space !== space) return;
      if (d.level && levelChip) {
        levelChip.querySelector(".chip-text").textContent =
          interpolate(gettext("Level %(number)s · %(name)s"), d.level, true);
      }
      if (d.streak !== null && d.streak !== undefined) {
        if (streakChip) {
          streakChip.querySelector(".chip-text").textContent = interpolate(
            ngettext("%(n)s day in a row", "%(n)s days in a row", d.streak), {n: d.streak}, true);
        }
        const figure = person === me && document.querySelector("dd[data-testid=my-streak]");
        if (figure) {
          figure.textContent = interpolate(ngettext("%(n)s day", "%(n)s days", d.streak), {n: d.streak}, true);
        }
      }
    }
    if (person === me) {
      rt.on("hub.user." + me, "levels.progress", show);
    } else {
      const topic = "levels.person." + person;
      rt.on(topic, "progress.updated", show);
      rt.subscribe(topic).catch(() => {});
    }
  });
})();
