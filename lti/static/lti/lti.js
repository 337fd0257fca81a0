/* LTI pages that move on by themselves (no inline script under the page's CSP):
 *   <form data-lti-autopost>  the Deep Linking response, posted to the platform at once;
 *   [data-lti-close]          registration done: tell the platform's window to close us
 *                             (LTI Dynamic Registration, "org.imsglobal.lti.close"). */
(function () {
  "use strict";
  const form = document.querySelector("form[data-lti-autopost]");
  if (form) form.submit();
  if (document.querySelector("[data-lti-close]")) {
    const target = window.opener || (window.parent !== window ? window.parent : null);
    if (target) target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
})();
