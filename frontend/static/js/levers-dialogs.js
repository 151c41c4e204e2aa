// confirmation dialogs: buttons open them with invoker commands (commandfor + command="show-modal"), which
// chromium handles without any script. this file does the same where a browser lacks invoker commands.
(function () {
  "use strict";
  if ("commandForElement" in HTMLButtonElement.prototype) return;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[commandfor]");
    if (!button) return;
    var dialog = document.getElementById(button.getAttribute("commandfor"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    var command = button.getAttribute("command");
    if (command === "show-modal" && !dialog.open) dialog.showModal();
    else if (command === "close" && dialog.open) dialog.close();
  });
})();
