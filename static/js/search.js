// Search page: the bulk-action bar over the results (which htmx swaps while typing, so every handler is
// delegated from the document). Tick rows or the whole page, or every result of the search; the action's own
// field (owner, tag, list, event, format) shows for the chosen action only.
(function () {
  function bar() { return document.getElementById("bulk-form"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("input.bulk-row")); }

  function refresh() {
    var form = bar();
    if (!form) { return; }
    var all = form.querySelector("[data-bulk-all]");
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    var count = form.querySelector("[data-bulk-count]");
    var total = all && all.checked ? all.closest(".form-check").textContent.trim() : String(ticked);
    if (count) { count.textContent = (count.dataset.template || "已选 {n} 条").replace("{n}", total); }
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
      rows().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-bulk-page], input.bulk-row, [data-bulk-all], [data-bulk-action]")) { refresh(); }
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSwap", refresh);
  if (document.readyState !== "loading") { refresh(); }
})();
