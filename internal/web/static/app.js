// Latchkey dashboard: a little progressive enhancement. Every page works
// without it; the Content-Security-Policy allows only this file. It is
// loaded without defer, in <head>, so that the class below is set before
// the first paint; everything else waits for DOMContentLoaded.
"use strict";

document.documentElement.classList.add("js");

// The theme: "system" deletes the cookie (the CSS follows
// prefers-color-scheme), "light" or "dark" keeps it for a year. The server
// reads the cookie to write data-theme on <html> in every page it sends,
// which is why a reload never flashes the other theme.
function setTheme(theme) {
  var root = document.documentElement;
  var secure = location.protocol === "https:" ? "; Secure" : "";
  var meta = document.querySelector('meta[name="color-scheme"]');
  if (theme === "light" || theme === "dark") {
    document.cookie = "latchkey_theme=" + theme + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
    root.setAttribute("data-theme", theme);
    if (meta) meta.setAttribute("content", theme);
  } else {
    document.cookie = "latchkey_theme=; Path=/; Max-Age=0; SameSite=Lax" + secure;
    root.removeAttribute("data-theme");
    if (meta) meta.setAttribute("content", "light dark");
  }
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-theme-select]").forEach(function (sel) {
    sel.addEventListener("change", function () { setTheme(sel.value); });
  });

  // The phone header: a bar with a Menu button that opens the navigation.
  // (Wider screens always show the sidebar; the button is hidden there.)
  var menu = document.getElementById("menu-button");
  if (menu) {
    var bar = document.getElementById("sidebar");
    menu.addEventListener("click", function () {
      var open = menu.getAttribute("aria-expanded") !== "true";
      menu.setAttribute("aria-expanded", open ? "true" : "false");
      bar.classList.toggle("menu-open", open);
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && menu.getAttribute("aria-expanded") === "true") {
        menu.setAttribute("aria-expanded", "false");
        bar.classList.remove("menu-open");
        menu.focus();
      }
    });
  }

  // Copy buttons: data-copy names the element whose text is copied.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.querySelector(btn.getAttribute("data-copy"));
      if (!el) return;
      var text = el.textContent.trim();
      var done = function () {
        var label = btn.textContent;
        btn.textContent = "Copied!";
        btn.classList.add("copied");
        setTimeout(function () { btn.textContent = label; btn.classList.remove("copied"); }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(el); });
      } else {
        selectText(el);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
      }
    });
  });

  // Forms that ask before they act.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });

  // Selects that submit their form when changed (organization, project).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Scope presets on the API key form.
  document.querySelectorAll("[data-scopes]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var mode = btn.getAttribute("data-scopes");
      btn.form.querySelectorAll('input[name="scopes"]').forEach(function (box) {
        box.checked = mode === "all" || (mode === "read" && /:read$/.test(box.value));
      });
    });
  });
});

function selectText(el) {
  var range = document.createRange();
  range.selectNodeContents(el);
  var sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}
