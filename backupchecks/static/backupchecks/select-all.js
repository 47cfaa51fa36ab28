// Run Checks: "select all" toggles every run checkbox of the review form (no inline script: CSP).
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function (event) {
    document.querySelectorAll("#review-form input[name=\"runs\"]").forEach(function (box) { box.checked = event.target.checked; });
  });
});
