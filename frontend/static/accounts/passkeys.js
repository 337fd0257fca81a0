/* Passkeys (WebAuthn): add one on "Security and data" (navigator.credentials.create) and use
 * one at the login's second step (navigator.credentials.get). The server's options come as
 * JSON with base64url strings; the answers go back the same way. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);

  function toBytes(value) {
    const b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let raw = "";
    for (let i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, {id: toBytes(d.id)}));
  }

  function csrf(root) {
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(root, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(root)},
      body: JSON.stringify(body || {}),
    }).then((response) =>
      response.json().then((data) => {
        if (!response.ok) {
          throw new Error((data.error && data.error.message) || response.statusText);
        }
        return data;
      }),
    );
  }

  function showError(root, error) {
    const box = root.querySelector("[data-passkey-error]");
    if (!box) return;
    let message = error && error.message ? error.message : String(error);
    if (error && error.name === "NotAllowedError") {
      message = gettext("The passkey was not used (cancelled or timed out).");
    }
    box.textContent = message;
    box.hidden = false;
  }

  function supported(root) {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    showError(root, new Error(gettext("This browser cannot use passkeys.")));
    return false;
  }

  // "Security and data": add a passkey.
  const register = document.querySelector("[data-passkey-register]");
  if (register) {
    const form = register.querySelector("[data-passkey-form]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!supported(register)) return;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      post(register, register.dataset.optionsUrl)
        .then((options) => {
          options.challenge = toBytes(options.challenge);
          options.user = Object.assign({}, options.user, {id: toBytes(options.user.id)});
          options.excludeCredentials = descriptors(options.excludeCredentials);
          return navigator.credentials.create({publicKey: options});
        })
        .then((credential) => {
          const response = credential.response;
          return post(register, register.dataset.finishUrl, {
            name: form.querySelector("[name=name]").value,
            credential: {
              id: credential.id,
              rawId: toText(credential.rawId),
              type: credential.type,
              authenticatorAttachment: credential.authenticatorAttachment || undefined,
              clientExtensionResults: credential.getClientExtensionResults(),
              response: {
                clientDataJSON: toText(response.clientDataJSON),
                attestationObject: toText(response.attestationObject),
                transports: response.getTransports ? response.getTransports() : [],
              },
            },
          });
        })
        .then(() => window.location.reload())
        .catch((error) => {
          button.disabled = false;
          showError(register, error);
        });
    });
  }

  // The login's second step: use a passkey.
  const loginBox = document.querySelector("[data-passkey-login]");
  if (loginBox) {
    const button = loginBox.querySelector("[data-passkey-use]");
    button.addEventListener("click", () => {
      if (!supported(loginBox)) return;
      button.disabled = true;
      post(loginBox, loginBox.dataset.optionsUrl)
        .then((options) => {
          options.challenge = toBytes(options.challenge);
          options.allowCredentials = descriptors(options.allowCredentials);
          return navigator.credentials.get({publicKey: options});
        })
        .then((credential) => {
          const response = credential.response;
          return post(loginBox, loginBox.dataset.finishUrl, {
            credential: {
              id: credential.id,
              rawId: toText(credential.rawId),
              type: credential.type,
              authenticatorAttachment: credential.authenticatorAttachment || undefined,
              clientExtensionResults: credential.getClientExtensionResults(),
              response: {
                clientDataJSON: toText(response.clientDataJSON),
                authenticatorData: toText(response.authenticatorData),
                signature: toText(response.signature),
                userHandle: toText(response.userHandle),
              },
            },
          });
        })
        .then((data) => {
          window.location.assign(data.redirect);
        })
        .catch((error) => {
          button.disabled = false;
          showError(loginBox, error);
        });
    });
  }
})();
