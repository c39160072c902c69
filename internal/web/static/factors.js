// Passkeys (WebAuthn) for the dashboard: a button with data-passkey
// ("create" or "get") posts its form to data-options, hands the answer to
// navigator.credentials, posts the credential (JSON, field "credential")
// with the form to data-finish, then follows the answer's redirect or, with
// data-then="submit", submits its form (re-authentication). Served from
// /static: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  function b64u(buf) {
    var s = "", bytes = new Uint8Array(buf);
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function creationOptions(pk) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
    }
    pk.challenge = unb64u(pk.challenge);
    pk.user.id = unb64u(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
    return pk;
  }
  function requestOptions(pk) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    }
    pk.challenge = unb64u(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
    return pk;
  }
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    var r = cred.response, out = { id: cred.id, rawId: b64u(cred.rawId), type: cred.type, response: {
      clientDataJSON: b64u(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = b64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = b64u(r.authenticatorData);
      out.response.signature = b64u(r.signature);
      if (r.userHandle) out.response.userHandle = b64u(r.userHandle);
    }
    return out;
  }
  function post(url, form, extra) {
    var body = new URLSearchParams(new FormData(form));
    Object.keys(extra || {}).forEach(function (k) { body.set(k, extra[k]); });
    body.delete("_reauth_password");
    body.delete("_reauth_code");
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        return res.json().then(function (j) {
          if (!res.ok) throw new Error(j.error || "The passkey could not be used.");
          return j;
        });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey]").forEach(function (btn) {
      var form = btn.form || btn.closest("form");
      var errEl = form.querySelector("[data-passkey-error]");
      if (!window.PublicKeyCredential) {
        btn.disabled = true;
        if (errEl) errEl.textContent = "This browser does not support passkeys.";
        return;
      }
      btn.addEventListener("click", function () {
        if (errEl) errEl.textContent = "";
        btn.disabled = true;
        var create = btn.getAttribute("data-passkey") === "create";
        post(btn.getAttribute("data-options"), form).then(function (opts) {
          return create ? navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) })
            : navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
        }).then(function (cred) {
          return post(btn.getAttribute("data-finish"), form, { credential: JSON.stringify(credentialJSON(cred)) });
        }).then(function (res) {
          if (btn.getAttribute("data-then") === "submit") {
            form.submit();
          } else {
            window.location.assign(res.redirect || "/projects");
          }
        }).catch(function (e) {
          btn.disabled = false;
          if (errEl) errEl.textContent = e && e.name === "NotAllowedError" ? "The passkey prompt was closed." : (e.message || String(e));
        });
      });
    });
  });
})();
