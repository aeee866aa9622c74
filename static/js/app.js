// Send the CSRF token with htmx requests (Flask-WTF reads X-CSRFToken).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});
// Buttons with data-confirm ask before submitting.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) { event.preventDefault(); }
});
// No inline script anywhere (CSP script-src 'self'): behaviour hangs off data attributes instead.
// <select data-autosubmit> submits its form on change.
document.addEventListener("change", function (event) {
  var el = event.target.closest("[data-autosubmit]");
  if (el && el.form) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
});
// <button data-print> prints the page.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});
// <input type=checkbox data-hides="#id"> hides that element while ticked.
document.addEventListener("change", function (event) {
  var box = event.target.closest("[data-hides]");
  if (!box) { return; }
  document.querySelectorAll(box.dataset.hides).forEach(function (el) { el.classList.toggle("d-none", box.checked); });
});
// Copy a WeChat ID or the greeting (data-copy, data-copied): the Clipboard API needs a secure context, so fall
// back to execCommand on http intranets.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) { return; }
  var text = button.dataset.copy;
  function done() {
    var label = button.querySelector(".copy-label");
    if (label) { var before = label.textContent; label.textContent = button.dataset.copied; setTimeout(function () { label.textContent = before; }, 1500); }
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
  }
});
// Data for page scripts travels in <script type="application/json" id="..."> blocks (not executed, so CSP allows
// them; Flask's tojson escapes <, > and &).
window.crmData = function (id) {
  var el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
};
// The error summary of a refused form (templates/_macros/forms.html): focused on load, so a phone shows it and a
// screen reader reads it out; each link moves to its field, or to the picker that stands in for a select.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
document.addEventListener("click", function (event) {
  var link = event.target.closest("[data-error-link]");
  var el = link && document.getElementById(link.dataset.errorLink);
  if (!el) { return; }
  event.preventDefault();
  var picker = el.tomselect;
  (picker ? picker.wrapper : el).scrollIntoView({block: "center"});
  (picker ? picker.control_input : el).focus();
});
