/* The coaching page: each open slot follows sessions.coaching.<space>; slots.changed hides
   a slot someone else booked and shows it again when it is freed. */
(function () {
  "use strict";
  const rt = window.Lyceum && window.Lyceum.realtime;
  const section = document.querySelector("[data-testid=open-slots]");
  if (!rt || !section) return;
  const empty = section.querySelector("[data-testid=no-slots]");
  const topics = (section.dataset.topics || "").split(" ").filter(Boolean);

  function settle() {
    const shown = section.querySelectorAll("li[data-slot]:not([hidden])").length;
    if (empty) empty.hidden = shown > 0;
  }

  for (const topic of topics) {
    rt.subscribe(topic);
    rt.on(topic, "slots.changed", (data) => {
      const row = section.querySelector(`li[data-slot="${Number(data.slot)}"]`);
      if (row) row.hidden = Boolean(data.taken);
      settle();
      section.dataset.updated = String(Date.now());
    });
    rt.onStatus("resumed", (name) => { if (name === topic) section.dataset.live = "true"; });
  }
})();
