/* "check my install": the form opens the page in a new tab (a plain submit, target=_blank); a second later the
   report area below it starts asking for the result. htmx can't listen to the submit itself: it would cancel it. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target, id = form.getAttribute && form.getAttribute("data-check-report");
    if (!id || !window.htmx) return;
    setTimeout(function () { window.htmx.trigger(document.getElementById(id), "levers:check-started"); }, 1000);
  });
})();
