/* Runs first in a package's launch document (served into it by Lyceum), inside the
 * sandboxed frame: the package's origin is opaque, so it cannot reach the player page's API
 * object by window.parent. scorm-again's CrossFrameAPI stands in for it: window.API (SCORM
 * 1.2) or window.API_1484_11 (2004), answering from a cache and passing every call to the
 * player by postMessage, to the player's origin only. Lyceum writes the launch's CMI data
 * in data-seed so the first GetValue after Initialize (location, suspend data) already
 * answers what the learner left: a resume works for content that reads it at once. */
(function () {
  "use strict";
  var me = document.currentScript;
  var kind = me.dataset.kind;
  var api = new window.CrossFrameAPI(me.dataset.origin, window.parent);
  var seed = {};
  try {
    seed = JSON.parse(me.dataset.seed || "{}") || {};
  } catch (error) {
    seed = {};
  }
  Object.keys(seed).forEach(function (key) { api._cache.set(key, String(seed[key])); });
  if (kind === "scorm12") window.API = api;
  else if (kind === "scorm2004") window.API_1484_11 = api;
})();
