// Small progressive enhancements; every page works without them. No inline script or
// style is used anywhere: the Content-Security-Policy forbids both.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  // The bell: chat.js bumps it when a notice arrives on the room's socket.
  window.caseroomNotices = {
    bump: function () {
      var count = document.getElementById("notices-count");
      if (!count) return;
      var n = (parseInt(count.textContent, 10) || 0) + 1;
      count.textContent = String(n);
      count.hidden = false;
      var label = document.getElementById("notices-label");
      if (label) label.textContent = n + " unread";
    }
  };

  ready(function () {
    // "Hide screen": blanks the page at once (CPOMS habit), e.g. when someone walks past.
    // The rest of the page becomes inert (no focus, hidden from screen readers) and the
    // tab title stops showing anything about the case.
    var shield = document.getElementById("screen-shield");
    var hide = document.getElementById("hide-screen");
    var show = document.getElementById("show-screen");
    if (shield && hide && show) {
      var behind = document.querySelectorAll("body > header, body > main, body > footer, .skip-link");
      var title = document.title;
      var setBehind = function (hidden) {
        document.body.classList.toggle("screen-hidden", hidden);
        Array.prototype.forEach.call(behind, function (el) {
          if (hidden) { el.setAttribute("inert", ""); el.setAttribute("aria-hidden", "true"); }
          else { el.removeAttribute("inert"); el.removeAttribute("aria-hidden"); }
        });
      };
      hide.addEventListener("click", function () {
        title = document.title;
        document.title = "Caseroom";
        shield.hidden = false;
        setBehind(true);
        show.focus();
      });
      show.addEventListener("click", function () {
        shield.hidden = true;
        setBehind(false);
        document.title = title;
        hide.focus();
      });
    }

    // Print buttons (a published plan): printing needs script, so they stay hidden without
    // it (the browser's own Print prints the same page, through the print stylesheet).
    Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });

    // A GOV.UK error summary takes focus when the page loads, so it is read out first.
    var summary = document.querySelector(".error-summary[tabindex]");
    if (summary) summary.focus();

    // After an htmx post of a message: clear the box, keep focus in it, and tell screen
    // reader users it worked (the list itself is replaced, so it cannot be a live region).
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (!target || target.id !== "messages") return;
      var ok = event.detail.xhr && event.detail.xhr.status < 300;
      var body = document.getElementById("body");
      if (body) {
        if (ok) body.value = "";
        body.focus();
      }
      var status = document.getElementById("messages-status");
      if (status) status.textContent = ok ? "Message posted." : "The message was not posted.";
    });
  });
})();
