// The reports page: "Download" fetches the file from the API (so a slow PDF shows its progress
// and a refusal shows its reason, on this page) and saves it under the server's file name.
// Without JavaScript the form still works: it is a plain GET that downloads the file.
// The printable page: its Print button. No inline scripts anywhere (CSP).
(function () {
  "use strict";

  var NAMES = { pdf: "PDF", xlsx: "spreadsheet", csv: "CSV files", md: "Markdown", html: "HTML file" };

  function fileName(disposition, fallback) {
    var match = /filename="?([^";]+)"?/.exec(disposition || "");
    return match ? match[1] : fallback;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  function showErrors(box, problem) {
    box.textContent = "";
    var intro = document.createElement("p");
    intro.textContent = "The report could not be prepared:";
    box.appendChild(intro);
    var list = document.createElement("ul");
    var errors = (problem && problem.errors && problem.errors.length) ? problem.errors
      : [{ field: "", message: (problem && problem.detail) || "something went wrong; please try again." }];
    errors.forEach(function (error) {
      var item = document.createElement("li");
      if (error.field) {
        var strong = document.createElement("strong");
        strong.textContent = error.field.charAt(0).toUpperCase() + error.field.slice(1);
        item.appendChild(strong);
        item.appendChild(document.createTextNode(": "));
      }
      item.appendChild(document.createTextNode(error.message));
      list.appendChild(item);
    });
    box.appendChild(list);
    box.hidden = false;
  }

  function enhance(form) {
    var status = form.querySelector("[data-report-status]");
    var button = form.querySelector("[data-report-download]");
    var errorBox = document.querySelector("[data-report-error]");
    form.addEventListener("submit", function (event) {
      // "Open the printable page" navigates as usual.
      if (event.submitter && event.submitter.hasAttribute("data-report-page")) return;
      if (!window.fetch || !window.URL || !form.dataset.api) return;
      event.preventDefault();
      var params = new URLSearchParams(new FormData(form));
      var format = params.get("format") || "pdf";
      errorBox.hidden = true;
      button.disabled = true;
      form.classList.add("is-busy");
      status.textContent = "Preparing your " + (NAMES[format] || format) + "…";
      fetch(form.dataset.api + "?" + params.toString(), {
        credentials: "same-origin", headers: { "Accept": "application/problem+json, */*" }
      }).then(function (response) {
        if (!response.ok) {
          return response.json().catch(function () { return null; }).then(function (problem) {
            showErrors(errorBox, problem);
            status.textContent = "";
          });
        }
        var name = fileName(response.headers.get("Content-Disposition"), "northstar-report." + format);
        return response.blob().then(function (blob) {
          save(blob, name);
          status.textContent = "Downloaded " + name + ".";
        });
      }).catch(function () {
        showErrors(errorBox, { detail: "the server could not be reached; check your connection and try again." });
        status.textContent = "";
      }).then(function () {
        button.disabled = false;
        form.classList.remove("is-busy");
      });
    });
  }

  document.querySelectorAll("form[data-report-form]").forEach(enhance);
  document.querySelectorAll("[data-report-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
