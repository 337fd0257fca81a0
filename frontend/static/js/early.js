/* Runs in <head>: tells the CSS that scripts run, so the small-screen menu may collapse. */
document.documentElement.className = document.documentElement.className.replace("no-js", "js");
