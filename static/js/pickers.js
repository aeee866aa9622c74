// Tom Select pickers (needs vendor/tom-select loaded first).
// select#participant_ids, select[data-multi-picker]: a searchable multi-select with remove buttons (participants).
// select.lead-picker: remote search by name, pinyin or initials; its texts and URL come from the JSON block
// #lead-picker-config (templates/leads/_picker.html).
(function () {
  document.querySelectorAll("select#participant_ids, select[data-multi-picker]").forEach(function (el) {
    new TomSelect(el, {plugins: ["remove_button"], maxOptions: 200});
  });
  var config = window.crmData("lead-picker-config");
  if (!config) { return; }
  document.querySelectorAll("select.lead-picker").forEach(function (el) {
    var exclude = el.dataset.exclude;
    new TomSelect(el, {
      valueField: "id", labelField: "name", searchField: [], maxOptions: 20, loadThrottle: 250,
      placeholder: config.placeholder,
      shouldLoad: function (q) { return q.length > 0; },
      load: function (q, done) {
        fetch(config.url + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (rows) { done(rows.filter(function (r) { return String(r.id) !== exclude; })); })
          .catch(function () { done(); });
      },
      render: {
        option: function (d, esc) { return "<div><div>" + esc(d.name) + "</div><div class='small text-muted'>" + esc(d.kind) + " · " + esc(d.county) + "</div></div>"; },
        item: function (d, esc) { return "<div>" + esc(d.name) + "</div>"; },
        no_results: function () { return "<div class='no-results'>" + esc(config.noResults) + "</div>"; }
      }
    });
  });
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
})();
