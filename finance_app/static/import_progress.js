// Long imports: show how far the server has got while the confirm request runs (the import
// preview's form, #import-form, names the progress URL and the number of lines).
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.id !== "confirm-import") return;
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    bar.hidden = false;
    var timer = setInterval(function () {
      fetch(form.dataset.progress, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (p) {
          bar.value = p.processed;
          status.textContent = p.processed + " of " + form.dataset.total + " lines";
        })
        .catch(function () {});
    }, 700);
    window.addEventListener("pagehide", function () { clearInterval(timer); });
  });
})();
