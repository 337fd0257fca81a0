// The OIDC answer to an LTI tool: post the id_token form at once (response_mode=form_post).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autopost]");
  if (form) form.submit();
});
