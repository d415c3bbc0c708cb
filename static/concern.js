// "Raise a concern": the draft is kept on this device (localStorage) as it is typed, so a
// dropped signal or a closed tab loses nothing; it is deleted once the concern is sent.
(function () {
  "use strict";
  var KEY = "caseroom:concern-draft";

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    if (document.getElementById("concern-sent")) {
      try { localStorage.removeItem(KEY); } catch (e) { /* storage off: nothing kept */ }
      return;
    }
    var form = document.getElementById("concern-form");
    if (!form) return;
    var status = document.getElementById("draft-status");
    var fields = form.querySelectorAll("input[name]:not([type=hidden]), textarea[name]");
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { saved = null; }
    // The server's values (a refused send) win over the draft.
    var fromServer = Array.prototype.some.call(fields, function (el) {
      return el.type !== "radio" && el.value;
    });
    if (saved && !fromServer) {
      fields.forEach(function (el) {
        if (!(el.name in saved)) return;
        if (el.type === "radio") el.checked = saved[el.name] === el.value;
        else el.value = saved[el.name];
      });
      status.textContent = "Your draft from this device was restored.";
    }
    function save() {
      var draft = {};
      fields.forEach(function (el) {
        if (el.type === "radio") { if (el.checked) draft[el.name] = el.value; }
        else draft[el.name] = el.value;
      });
      try {
        localStorage.setItem(KEY, JSON.stringify(draft));
        status.textContent = "Draft saved on this device.";
      } catch (e) {
        status.textContent = "This browser cannot keep a draft: send the concern when it is written.";
      }
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
  });
})();
