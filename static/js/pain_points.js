// Pain-point pages: small conveniences on top of plain forms (they work without this file).
(function () {
  "use strict";

  // A resolved-on date only means something for a resolved pain point: hide it otherwise,
  // and disable it so that a stale date is not sent along with another status.
  function syncResolved(form) {
    var status = form.querySelector("select[name=status]");
    var field = form.querySelector(".resolved-field");
    if (!status || !field) return;
    var resolving = status.value === "resolved";
    field.hidden = !resolving;
    field.querySelectorAll("input").forEach(function (input) { input.disabled = !resolving; });
  }

  // Hours are per week for recurring friction and once for a one-time effort.
  function syncUnit(form) {
    var kind = form.querySelector("input[name=kind]:checked");
    if (!kind) return;
    form.querySelectorAll("[data-unit]").forEach(function (el) {
      el.textContent = kind.value === "one_time" ? "once" : "per week";
    });
  }

  // The preview knows the team's headcount for the persona: that is what a blank means.
  function syncPeople() {
    var source = document.querySelector("#preview [data-people-default]");
    var input = document.getElementById("people_affected");
    if (source && input) input.placeholder = source.getAttribute("data-people-default");
  }

  function syncAll() {
    document.querySelectorAll("form").forEach(function (form) {
      syncResolved(form);
      syncUnit(form);
    });
    syncPeople();
  }

  document.addEventListener("change", function (event) {
    var form = event.target && event.target.form;
    if (form) {
      syncResolved(form);
      syncUnit(form);
    }
  });
  document.addEventListener("htmx:afterSettle", syncPeople);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", syncAll);
  } else {
    syncAll();
  }
})();
