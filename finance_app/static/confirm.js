// A form with data-confirm="question" asks before it is sent (pages carry no inline script:
// the Content-Security-Policy allows scripts from static/ only).
document.addEventListener("submit", function (event) {
  "use strict";
  var question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
