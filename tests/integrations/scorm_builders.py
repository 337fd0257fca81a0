"""Packages the tests play, shaped as authoring tools publish them: an ``imsmanifest.xml`` at
the top, one folder per SCO, a shared wrapper script (``shared/scormdriver.js``) that finds
the API the way ADL's sample and pipwerks do (this window, then the parents, then the
opener), and pages that read their state at once after Initialize (resume).

Each SCO page shows what it read (``#location``, ``#suspend``, ``#entry``) and has buttons
the browser test clicks: ``#next`` (a new location and suspend data, then Commit),
``#answer`` (interactions and a score) and ``#finish`` (status, then Finish/Terminate).
``probe.html`` is the hostile part: it tries the parent page, the cookies and the API.
"""

from __future__ import annotations

import io
import zipfile

from tests.integrations.test_packages import CMI5, SCORM12, SCORM2004

# The API discovery every authoring tool ships (ADL's ScanForAPI, with the pipwerks
# opener fallback). Cross-origin parents throw on access: that is caught, as real
# wrappers do, and the search goes on.
DRIVER = r"""
(function () {
  function scan(win, name) {
    var tries = 0;
    while (win && tries < 10) {
      try { if (win[name]) return win[name]; } catch (e) {}
      var parent;
      try { parent = win.parent; } catch (e) { parent = null; }
      if (!parent || parent === win) break;
      win = parent; tries++;
    }
    return null;
  }
  function find(name) {
    var api = scan(window, name);
    if (!api && window.opener) api = scan(window.opener, name);
    return api;
  }
  var v12 = find("API"), v2004 = find("API_1484_11");
  var api = v2004 || v12;
  var is2004 = !!v2004;
  window.Driver = {
    found: !!api,
    version: is2004 ? "2004" : (v12 ? "1.2" : ""),
    init: function () { return is2004 ? api.Initialize("") : api.LMSInitialize(""); },
    get: function (k) { return is2004 ? api.GetValue(k) : api.LMSGetValue(k); },
    set: function (k, v) { return is2004 ? api.SetValue(k, v) : api.LMSSetValue(k, String(v)); },
    commit: function () { return is2004 ? api.Commit("") : api.LMSCommit(""); },
    finish: function () { return is2004 ? api.Terminate("") : api.LMSFinish(""); },
  };
})();
"""

SCO_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script src="../shared/scormdriver.js"></script>
<script src="sco.js"></script></head>
<body><h1>{title}</h1>
<p>Entry: <span id="entry"></span> · Location: <span id="location"></span> ·
Suspend: <span id="suspend"></span> · <span id="state">loading</span></p>
<button id="next">Next page</button> <button id="answer">Answer</button>
<button id="finish">Finish</button>
</body></html>"""

# One SCO's behaviour; {version} is "1.2" or "2004".
SCO_SCRIPT = r"""
window.addEventListener("DOMContentLoaded", function () {
  var D = window.Driver, v12 = D.version === "1.2";
  function $(id) { return document.getElementById(id); }
  if (!D.found) { $("state").textContent = "no API"; return; }
  D.init();
  // Read at once, as authoring tools do on resume.
  $("entry").textContent = D.get(v12 ? "cmi.core.entry" : "cmi.entry");
  $("location").textContent = D.get(v12 ? "cmi.core.lesson_location" : "cmi.location");
  $("suspend").textContent = D.get("cmi.suspend_data");
  $("state").textContent = "ready";
  var page = parseInt($("location").textContent.replace("page-", "") || "0", 10);
  $("next").addEventListener("click", function () {
    page += 1;
    D.set(v12 ? "cmi.core.lesson_location" : "cmi.location", "page-" + page);
    D.set("cmi.suspend_data", JSON.stringify({page: page, seen: ["intro", "p" + page]}));
    if (v12) D.set("cmi.core.lesson_status", "incomplete");
    else D.set("cmi.completion_status", "incomplete");
    D.set(v12 ? "cmi.core.exit" : "cmi.exit", "suspend");
    D.commit();
    $("location").textContent = "page-" + page;
    $("state").textContent = "committed " + page;
  });
  $("answer").addEventListener("click", function () {
    if (v12) {
      D.set("cmi.interactions.0.id", "q-exits");
      D.set("cmi.interactions.0.type", "choice");
      D.set("cmi.interactions.0.student_response", "b");
      D.set("cmi.interactions.0.correct_responses.0.pattern", "b");
      D.set("cmi.interactions.0.result", "correct");
      D.set("cmi.interactions.1.id", "q-ladder");
      D.set("cmi.interactions.1.type", "true-false");
      D.set("cmi.interactions.1.student_response", "t");
      D.set("cmi.interactions.1.correct_responses.0.pattern", "f");
      D.set("cmi.interactions.1.result", "wrong");
      D.set("cmi.core.score.raw", "85");
      D.set("cmi.core.score.min", "0");
      D.set("cmi.core.score.max", "100");
    } else {
      D.set("cmi.interactions.0.id", "urn:lyceum:q:cpr-rate");
      D.set("cmi.interactions.0.type", "choice");
      D.set("cmi.interactions.0.description", "Compressions per minute?");
      D.set("cmi.interactions.0.learner_response", "rate-110");
      D.set("cmi.interactions.0.correct_responses.0.pattern", "rate-110");
      D.set("cmi.interactions.0.result", "correct");
      D.set("cmi.interactions.0.latency", "PT4S");
      D.set("cmi.interactions.1.id", "urn:lyceum:q:recovery");
      D.set("cmi.interactions.1.type", "true-false");
      D.set("cmi.interactions.1.learner_response", "false");
      D.set("cmi.interactions.1.correct_responses.0.pattern", "true");
      D.set("cmi.interactions.1.result", "incorrect");
      D.set("cmi.score.raw", "8");
      D.set("cmi.score.min", "0");
      D.set("cmi.score.max", "10");
      D.set("cmi.score.scaled", "0.8");
      D.set("cmi.success_status", "passed");
    }
    D.commit();
    $("state").textContent = "answered";
  });
  $("finish").addEventListener("click", function () {
    if (v12) { D.set("cmi.core.lesson_status", "passed"); D.set("cmi.core.exit", ""); }
    else {
      D.set("cmi.completion_status", "completed");
      D.set("cmi.exit", "normal");
      D.set("adl.nav.request", "continue");
    }
    D.finish();
    $("state").textContent = "finished";
  });
});
"""

# The hostile page: what a package must not be able to do from its frame.
PROBE = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>Probe</title></head><body>
<p id="parent">?</p><p id="cookie">?</p><p id="api">?</p><p id="storage">?</p>
<script>
function $(id) { return document.getElementById(id); }
try { var t = window.parent.document.title; $("parent").textContent = "read: " + t; }
catch (e) { $("parent").textContent = "blocked: " + e.name; }
try { $("cookie").textContent = "cookie: [" + document.cookie + "]"; }
catch (e) { $("cookie").textContent = "blocked: " + e.name; }
try { localStorage.setItem("x", "1"); $("storage").textContent = "storage: open"; }
catch (e) { $("storage").textContent = "blocked: " + e.name; }
fetch("/api/v1/packages/probe-target/",
  {credentials: "include"})
  .then(function (r) { return r.text().then(function (t) {
    $("api").textContent = "read " + r.status + ": " + t.slice(0, 80); }); })
  .catch(function (e) { $("api").textContent = "blocked: " + e.name; });
</script></body></html>"""


def _zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _sco(folder: str, title: str) -> dict[str, str]:
    return {
        f"{folder}/index.html": SCO_PAGE.format(title=title),
        f"{folder}/sco.js": SCO_SCRIPT,
    }


def scorm12_package() -> bytes:
    """SCORM 1.2, two SCOs (one with a query in its href) and a shared asset."""
    return _zip(
        {
            "imsmanifest.xml": SCORM12,
            "shared/scormdriver.js": DRIVER,
            "common.js": "",
            **_sco("one", "Part one"),
            **_sco("two", "Part two"),
        }
    )


HOSTILE12 = """<?xml version="1.0"?>
<manifest identifier="h" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
 <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
 <organizations default="o"><organization identifier="o"><title>Free prizes</title>
  <item identifier="i1" identifierref="r1"><title>Probe</title></item>
 </organization></organizations>
 <resources>
  <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="probe.html"/>
 </resources></manifest>"""


def hostile_package() -> bytes:
    """A SCORM 1.2 package whose only SCO tries the parent page, the cookies and the API."""
    return _zip({"imsmanifest.xml": HOSTILE12, "probe.html": PROBE, "secret.txt": "x"})


def scorm2004_package() -> bytes:
    """SCORM 2004 4th edition with sequencing, ``xml:base``, suspend data, interactions."""
    files = {
        "imsmanifest.xml": SCORM2004,
        "shared/scormdriver.js": DRIVER,
        **_sco("learn", "Learn"),
        "test.html": SCO_PAGE.format(title="Test").replace("../shared/", "shared/"),
        "sco.js": SCO_SCRIPT,
    }
    files["learn/a.html"] = files.pop("learn/index.html")
    return _zip(files)


CMI5_AU = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>Ladder quiz</title></head><body>
<h1>Ladder quiz</h1><p id="state">loading</p><p id="launch"></p>
<button id="pass">Pass</button>
<script src="au.js"></script></body></html>"""


def cmi5_package(au_script: str) -> bytes:
    """A cmi5 course structure with one AU (moveOn CompletedAndPassed) and its page."""
    return _zip({"cmi5.xml": CMI5, "au/index.html": CMI5_AU, "au/au.js": au_script})


# A cmi5 AU as authoring tools write one (what cmi5.js does, by hand): read the launch
# query, POST to the fetch URL for the token, GET LMS.LaunchData, then initialized;
# the #pass button sends completed, passed (score 0.9) and terminated, with the token.
CMI5_AU_SCRIPT = r"""
(function () {
  function $(id) { return document.getElementById(id); }
  var q = new URLSearchParams(window.location.search);
  var endpoint = q.get("endpoint"), registration = q.get("registration");
  var activityId = q.get("activityId"), actor = JSON.parse(q.get("actor"));
  var token = null, template = null;
  function xapi(method, path, body) {
    return fetch(endpoint + path, {
      method: method,
      headers: {"Authorization": "Basic " + token, "Content-Type": "application/json",
                "X-Experience-API-Version": "1.0.3"},
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + " " + t); });
      return r.status === 204 ? null : r.json();
    });
  }
  function send(verb, extra) {
    var ctx = JSON.parse(JSON.stringify(template));
    ctx.registration = registration;
    if (verb === "completed" || verb === "passed") ctx.contextActivities.category = [
      {id: "https://w3id.org/xapi/cmi5/context/categories/moveon"}];
    var s = {actor: actor, verb: {id: "http://adlnet.gov/expapi/verbs/" + verb},
             object: {objectType: "Activity", id: activityId}, context: ctx,
             timestamp: new Date().toISOString()};
    for (var k in (extra || {})) s[k] = extra[k];
    return xapi("POST", "statements", s);
  }
  fetch(q.get("fetch"), {method: "POST"})
    .then(function (r) { return r.json(); })
    .then(function (body) {
      token = body["auth-token"];
      var state = "activities/state?" + new URLSearchParams({
        stateId: "LMS.LaunchData", activityId: activityId,
        agent: JSON.stringify(actor), registration: registration});
      return xapi("GET", state);
    })
    .then(function (launch) {
      template = launch.contextTemplate;
      $("launch").textContent = launch.moveOn + " " + launch.launchMode;
      return send("initialized");
    })
    .then(function () { $("state").textContent = "initialized"; })
    .catch(function (e) { $("state").textContent = "error: " + e.message; });
  $("pass").addEventListener("click", function () {
    send("completed", {result: {completion: true, duration: "PT30S"}})
      .then(function () { return send("passed", {result: {success: true,
        score: {scaled: 0.9}, duration: "PT30S"}}); })
      .then(function () { return send("terminated"); })
      .then(function () { $("state").textContent = "terminated"; })
      .catch(function (e) { $("state").textContent = "error: " + e.message; });
  });
})();
"""
