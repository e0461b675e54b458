// Live parts of a page: elements with data-live and an id are fetched again from the page's
// own URL (with X-Live: 1, which renders only those parts) and swapped in place, so progress
// moves without a reload. Polling stops when no part asks for more (data-live-ms).
"use strict";

(function () {
  function nextDelay(root) {
    var holder = root.querySelector("[data-live-ms]");
    if (holder) return Number(holder.getAttribute("data-live-ms")) || 0;
    return Number(document.querySelector("main").getAttribute("data-live-ms")) || 0;
  }

  function refresh() {
    fetch(window.location.href, {
      headers: { "X-Live": "1" },
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (response) {
        // The session ended: a reload shows the login page.
        if (response.status === 401) {
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var parts = doc.querySelectorAll("[data-live][id]");
        parts.forEach(function (part) {
          var current = document.getElementById(part.id);
          if (current) current.replaceWith(document.importNode(part, true));
        });
        var delay = 0;
        parts.forEach(function (part) {
          var ms = Number(part.getAttribute("data-live-ms")) || 0;
          if (ms && (!delay || ms < delay)) delay = ms;
        });
        document.documentElement.setAttribute("data-live-updated", String(Date.now()));
        if (delay) window.setTimeout(refresh, delay);
      })
      .catch(function () {
        // The server restarting or a network blip: try again a little later.
        window.setTimeout(refresh, 5000);
      });
  }

  // A form sent twice would start two runs or cancel twice: disable its button once sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== "post") return;
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      window.setTimeout(function () { button.disabled = true; }, 0);
      button.setAttribute("aria-busy", "true");
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var delay = nextDelay(document);
    if (delay) window.setTimeout(refresh, delay);
  });
})();
