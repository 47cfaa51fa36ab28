// Small page behaviours, kept out of the templates so pages need no inline script (CSP: script-src 'self').
(function () {
  "use strict";

  // <input type="checkbox" data-select-all="CSS selector">: ticks or clears every box the selector finds.
  document.addEventListener("change", function (event) {
    var selector = event.target.getAttribute && event.target.getAttribute("data-select-all");
    if (!selector) return;
    document.querySelectorAll(selector).forEach(function (box) { box.checked = event.target.checked; });
  });

  // <button data-copy-target="#id">: copies the text of #id (a value shown once, e.g. a new ingest token).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    event.preventDefault();
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var done = function () {
      button.setAttribute("data-copied", "true");
      button.textContent = button.getAttribute("data-copied-label") || "Copied";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
    } else {
      selectText(source);
      try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
    }
  });

  // <form data-submit-once>: one click is enough — a second click while the first request runs (e.g. a
  // ticket being created in Autotask) would only be refused, so the button is disabled and says so.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) return;
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (!button) return;
    button.classList.add("disabled");
    button.setAttribute("aria-disabled", "true");
    button.textContent = "Sending…";
  });

  function selectText(element) {
    if (typeof element.select === "function") { element.focus(); element.select(); return; }
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
