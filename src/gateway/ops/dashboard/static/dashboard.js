// Operator dashboard: small progressive enhancements only; every page works without them.
(function () {
  "use strict";
  // confirm dialogs: <form data-confirm="…"> or <button data-confirm="…">
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { ev.preventDefault(); }
  });
  // print button on the report page
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-print]");
    if (el) { ev.preventDefault(); window.print(); }
  });
  // live views refresh themselves (overview, queues) unless the operator is typing
  var live = document.querySelector("[data-refresh]");
  if (live) {
    var seconds = parseInt(live.getAttribute("data-refresh"), 10) || 30;
    window.setInterval(function () {
      var active = document.activeElement;
      if (!active || (active.tagName !== "INPUT" && active.tagName !== "SELECT")) { window.location.reload(); }
    }, seconds * 1000);
  }
})();
