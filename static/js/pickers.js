// Tom Select pickers (needs vendor/tom-select loaded first).
// select#participant_ids, select[data-multi-picker]: a searchable multi-select with remove buttons (people).
// select[data-picker]: a searchable single select over its own options (a person, a county).
// select.lead-picker (single or multiple): remote search by name, pinyin or initials; its texts and URL come
// from the JSON block #lead-picker-config (templates/leads/_picker.html).
//
// A remote picker offers only what the latest query returned: typing clears the options at once (bar the chosen
// ones), a newer query aborts the request in flight, and a late answer to an older query is dropped. Without
// this, typing `ankang`, clearing it and typing `深圳商会` still offered the 安康… leads (Tom Select keeps every
// option it ever loaded and, with no local search fields, shows them all), and a visit could land on the wrong lead.
(function () {
  document.querySelectorAll("select#participant_ids, select[data-multi-picker]").forEach(function (el) {
    new TomSelect(el, {plugins: ["remove_button"], maxOptions: 200});
  });
  document.querySelectorAll("select[data-picker]").forEach(function (el) {
    // No refresh throttle: a late refresh of what was typed reopened the list over the save button after a pick.
    new TomSelect(el, {maxOptions: 200, allowEmptyOption: true, closeAfterSelect: true, refreshThrottle: 0});
  });
  // <select data-clears="#other">: choosing something here resets the other select to "nobody" (0), so a form
  // never holds both a person and a county inbox (the server refuses that pair too).
  document.addEventListener("change", function (event) {
    var el = event.target.closest && event.target.closest("select[data-clears]");
    if (!el || !el.value || el.value === "0") { return; }
    document.querySelectorAll(el.dataset.clears).forEach(function (other) {
      if (other.tomselect) { other.tomselect.setValue("0", true); } else { other.value = "0"; }
    });
  });
  var config = window.crmData("lead-picker-config");
  if (!config) { return; }
  document.querySelectorAll("select.lead-picker, select[data-lead-picker]").forEach(function (el) { leadPicker(el, config); });

  function leadPicker(el, config) {
    var exclude = el.dataset.exclude;
    var seq = 0, inFlight = null;
    var settings = {
      valueField: "id", labelField: "name", searchField: [], maxOptions: 20, loadThrottle: 250,
      hideSelected: true, placeholder: config.placeholder, refreshThrottle: 0,
      score: function () { return function () { return 1; }; },  // the server ranks; show its answer as given
      shouldLoad: function (q) { return q.trim().length > 0; },
      onType: function () {
        this.clearOptions();  // keeps the chosen items; forgets every earlier query's results (and its cache)
        this.refreshOptions(false);
      },
      load: function (q, done) {
        var self = this, mine = ++seq;
        if (inFlight) { inFlight.abort(); }
        inFlight = window.AbortController ? new AbortController() : null;
        fetch(config.url + "?q=" + encodeURIComponent(q),
              {credentials: "same-origin", signal: inFlight ? inFlight.signal : undefined})
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
          .then(function (rows) {
            if (mine !== seq || self.lastValue !== q) { done(); return; }  // superseded while on the way
            self.clearOptions();
            done(rows.filter(function (r) { return String(r.id) !== exclude; }));
          })
          .catch(function () { done(); });
      },
      render: {
        option: function (d, esc) { return "<div><div>" + esc(d.name) + "</div><div class='small text-muted'>" + esc(d.kind || "") + (d.county ? " · " + esc(d.county) : "") + "</div></div>"; },
        item: function (d, esc) { return "<div>" + esc(d.name) + "</div>"; },
        no_results: function () { return "<div class='no-results'>" + esc(config.noResults) + "</div>"; }
      }
    };
    if (el.multiple) { settings.plugins = ["remove_button"]; settings.maxItems = null; } else { settings.closeAfterSelect = true; }
    new TomSelect(el, settings);
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
})();
