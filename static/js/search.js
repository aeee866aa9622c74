// Search page: the bulk-action bar over the results (which htmx swaps while typing, so every handler is
// delegated from the document). Tick rows or the whole page, or every result of the search; the action's own
// field (owner, tag, list, event, format) shows for the chosen action only.
(function () {
  function bar() { return document.getElementById("bulk-form"); }
  // A list may render each row twice (cards on a phone, a table on a desk): only the visible copies count.
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("input.bulk-row")).filter(function (box) {
      return box.offsetParent !== null;
    });
  }

  function refresh() {
    var form = bar();
    if (!form) { return; }
    var all = form.querySelector("[data-bulk-all]");
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = all && all.checked ? all.closest(".form-check").textContent.trim()
        : (count.dataset.template || "{n}").replace("{n}", String(ticked));
    }
    var page = form.querySelector("[data-bulk-page]");
    if (page) { page.checked = ticked > 0 && ticked === rows().length; }
    var submit = form.querySelector("[data-bulk-submit]");
    if (submit) { submit.disabled = !(ticked > 0 || (all && all.checked)); }
    var action = form.querySelector("[data-bulk-action]");
    form.querySelectorAll("[data-bulk-param]").forEach(function (el) {
      el.classList.toggle("d-none", !action || el.dataset.bulkParam !== action.value);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-bulk-page]")) {
      rows().forEach(function (box) {
        document.querySelectorAll('input.bulk-row[value="' + box.value + '"]').forEach(function (copy) {
          copy.checked = target.checked;
        });
      });
    }
    if (target.matches("input.bulk-row")) {  // keep the other copy of the row in step
      document.querySelectorAll('input.bulk-row[value="' + target.value + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("[data-bulk-page], input.bulk-row, [data-bulk-all], [data-bulk-action]")) { refresh(); }
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSwap", refresh);
  if (document.readyState !== "loading") { refresh(); }
})();
