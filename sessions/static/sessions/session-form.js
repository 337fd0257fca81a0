/* The new-session form: the time zone follows the space picked (each space's default
 * zone), until the coordinator chooses a zone themself. */
(function () {
  "use strict";
  const data = document.getElementById("space-zones");
  const space = document.getElementById("id_space");
  const zone = document.getElementById("id_time_zone");
  if (!data || !space || !zone) return;
  const zones = JSON.parse(data.textContent);
  let chosen = false;
  zone.addEventListener("change", () => { chosen = true; });
  space.addEventListener("change", () => {
    const wanted = zones[space.value];
    if (!chosen && wanted && zone.querySelector('option[value="' + CSS.escape(wanted) + '"]')) {
      zone.value = wanted;
    }
  });
})();
