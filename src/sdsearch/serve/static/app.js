// sdsearch: the page works without this script; it only makes it quicker to use.
(function () {
  "use strict";
  var form = document.querySelector("form.zoek");
  if (!form) return;
  var q = document.getElementById("q");
  var status = document.getElementById("status");

  // A changed filter searches again at once (without script: press "Zoeken").
  Array.prototype.forEach.call(form.querySelectorAll("select"), function (el) {
    el.addEventListener("change", function () {
      if (q && q.value.trim()) form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });

  // Say that a search is running; an empty question is not sent.
  form.addEventListener("submit", function (ev) {
    if (q && !q.value.trim()) {
      ev.preventDefault();
      if (status) status.textContent = "Typ eerst een vraag.";
      q.focus();
      return;
    }
    if (status) status.textContent = "Bezig met zoeken…";
  });

  // "/" jumps to the question box, as on many search sites.
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (ev.key === "/" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey && q) {
      ev.preventDefault();
      q.focus();
      q.select();
    }
  });
})();
