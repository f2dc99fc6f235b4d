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

  // <button data-copy="ID">: copies the text of #ID (a new API token) and says so in
  // [data-copy-status="ID"]. Without the clipboard API (plain http), the text is selected.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("button[data-copy]");
    if (!button) return;
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!source) return;
    var text = source.textContent.trim();
    function say(message) { if (status) status.textContent = message; }
    function select() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say("Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Copied."); }, select);
    } else {
      select();
    }
  });

  // <input data-slug-from="name">: the slug follows the name (lowercase ASCII letters, digits,
  // hyphens) until someone edits the slug itself.
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64).replace(/-+$/, "");
  }
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLInputElement) || !field.form) return;
    if (field.hasAttribute("data-slug-from")) {
      field.dataset.slugEdited = field.value ? "yes" : "";
      return;
    }
    var slug = field.form.querySelector('input[data-slug-from="' + field.name + '"]');
    if (slug && !slug.dataset.slugEdited) slug.value = slugify(field.value);
  });
  // A slug already typed (a form shown again after an error) is the user's: leave it.
  document.querySelectorAll("input[data-slug-from]").forEach(function (slug) {
    var name = slug.form && slug.form.querySelector('input[name="' + slug.getAttribute("data-slug-from") + '"]');
    if (slug.value && (!name || slugify(name.value) !== slug.value)) slug.dataset.slugEdited = "yes";
  });
})();
