// Northstar's own behaviour on top of htmx. No inline scripts anywhere (see the CSP).
(function () {
  "use strict";
  // Forms that ask before a destructive action: <form data-confirm="Revoke this token?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
