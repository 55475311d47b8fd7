// Asks before an action that one click cannot undo (suspending a member or a group, archiving
// a group, moving a balance, revoking an invitation or an admin role): a submit button with
// data-confirm="question" submits its form only if the person answers yes. Without JavaScript
// the button submits as before.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
