// Keeps a part of a console page up to date without a reload: every element with
// data-live="<url>" asks that url again every data-every milliseconds (3000 by default) and
// takes the HTML it answers. It waits while someone works inside it (focus in a field, a
// dismiss form opened) so a reason being typed is never thrown away.
(function () {
  "use strict";
  function busy(box) {
    var active = document.activeElement;
    if (active && box.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
    return box.querySelector("details[open]") !== null;
  }
  function follow(box) {
    var every = parseInt(box.getAttribute("data-every") || "3000", 10);
    var said = document.getElementById(box.id.replace(/-live$/, "") + "-updated");
    function tick() {
      if (document.hidden || busy(box)) { window.setTimeout(tick, every); return; }
      fetch(box.getAttribute("data-live"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) {
          if (response.redirected || !response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (!busy(box)) box.innerHTML = html;
          if (said) said.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
        })
        .catch(function (error) {
          if (said) said.textContent = "Not updated (" + error.message + "); reload the page if this stays.";
        })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-live]");
    for (var i = 0; i < boxes.length; i++) follow(boxes[i]);
  });
})();
