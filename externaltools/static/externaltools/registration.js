// LTI Dynamic Registration: the tool's registration page, in a frame of the tools page,
// says it is done by posting {subject: "org.imsglobal.lti.close"} to its parent; the page
// is then read again (a GET) to show the tool, awaiting activation. Only a message from
// that frame counts (its origin may change as the tool's pages redirect, its window not).
document.addEventListener("DOMContentLoaded", () => {
  const frame = document.querySelector("[data-testid=registration-frame]");
  if (!frame) return;
  const done = () => window.location.assign(frame.dataset.registrationDone);
  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow) return;
    let data = event.data;
    if (typeof data === "string") {
      try {
        data = JSON.parse(data);
      } catch {
        return;
      }
    }
    if (data && data.subject === "org.imsglobal.lti.close") done();
  });
  const close = document.querySelector("[data-registration-close]");
  if (close) close.addEventListener("click", done);
});
