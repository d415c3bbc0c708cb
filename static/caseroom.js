// "Hide screen": blanks the page at once (CPOMS habit), e.g. when someone walks past.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var shield = document.getElementById("screen-shield");
    var hide = document.getElementById("hide-screen");
    var show = document.getElementById("show-screen");
    if (!shield || !hide || !show) return;
    var main = document.getElementById("main");
    hide.addEventListener("click", function () {
      shield.hidden = false;
      if (main) main.setAttribute("aria-hidden", "true");
      show.focus();
    });
    show.addEventListener("click", function () {
      shield.hidden = true;
      if (main) main.removeAttribute("aria-hidden");
      hide.focus();
    });
    // After an htmx post, clear the message box and keep focus in it.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var body = document.getElementById("body");
      if (body && event.detail.target && event.detail.target.id === "messages") {
        if (event.detail.xhr && event.detail.xhr.status < 300) body.value = "";
        body.focus();
      }
    });
  });
})();
