// forms that htmx swaps in place ([data-form-swap]: the experiment and gate forms). a swap keeps the page's
// scroll position, but the focused control is gone with the old html: this puts focus where the answer says.
// a swapped part with an [autofocus] field (the arm just added) is left to htmx, which focuses that field;
// a form answered with errors gets focus on its first invalid field, whose aria-describedby is its error.
(function () {
  "use strict";
  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";

  function focusTarget(element) {
    // an invalid group (a fieldset of radios) is focused through its first usable control
    if (element.matches(FIELDS)) return element;
    return element.querySelector(FIELDS);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;
    if (!(root instanceof Element) || !root.matches("[data-form-swap]")) return;
    if (root.querySelector("[autofocus]")) return;
    var invalid = root.querySelector('[aria-invalid="true"]');
    var target = invalid ? focusTarget(invalid) : null;
    // an error that belongs to no single field (e.g. "at least two arms"): the summary, which links to it
    target = target || root.querySelector("[role=alert][tabindex]");
    if (target) target.focus();
  });
})();
