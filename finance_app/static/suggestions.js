// The suggestions page answers at once and fetches its suggestions here: working them out can
// take seconds (a worker's first suggestions load scikit-learn; a write retrains the model).
// Meanwhile the status says so; on a failure it says that, with a link to try again.
(function () {
  "use strict";
  var results = document.getElementById("suggestions-results");
  var status = document.getElementById("suggestions-status");
  // With ?now=1 the page already holds them.
  if (!results || !status || results.children.length) return;

  function show(message, isError) {
    status.className = isError ? "status error" : "status";
    status.textContent = message;
  }

  function failed() {
    show("The suggestions could not be worked out just now. ", true);
    var retry = document.createElement("a");
    retry.href = results.dataset.retry;  // without this script: the page with them in it
    retry.textContent = "Try again";
    retry.addEventListener("click", function (event) {
      event.preventDefault();
      load();
    });
    status.appendChild(retry);
  }

  function load() {
    show("Working out suggestions…", false);
    results.setAttribute("aria-busy", "true");
    fetch(results.dataset.src, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        // A redirect is the sign-in page (the session ended): not the suggestions.
        if (!response.ok || response.redirected) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        results.innerHTML = html;
        // Said to screen readers only: the table itself shows that it has come.
        status.textContent = "Suggestions ready.";
        status.className = "status visually-hidden";
        results.dispatchEvent(new CustomEvent("content:added", {bubbles: true}));
      })
      .catch(failed)
      .then(function () { results.removeAttribute("aria-busy"); });
  }

  load();
})();
