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

  // "Apply" after a change that already applied the filters asks for the page already shown:
  // replace the history entry instead of adding a second one that Back would stop at.
  document.body.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var history = event.detail && event.detail.history;
    if (!history || history.type !== "push") return;
    var target = new URL(history.path, window.location.href);
    if (target.pathname + target.search === window.location.pathname + window.location.search) {
      history.type = "replace";
    }
  });
})();
