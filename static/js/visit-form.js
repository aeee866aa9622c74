// Never lose a typed visit (templates/interactions/form.html, config in #visit-form-config):
// - a draft in localStorage, per user and form, restored on return and dropped once the server saved it (it
//   sets the crm_visit_saved cookie to the form's one-time token);
// - before a submit, a check of the session (crm/web/webapp /webapp/session): signed out → a sign-in dialog on
//   the page, then the save; the CSRF token is refreshed every time;
// - without signal, the visit is queued in localStorage ("待发送 1 条") and sent when the phone is back online.
//   Each visit carries its own one-time token (crm/services/idempotency.py), so a resend — after a lost answer,
//   from two tabs at once — finds the first save instead of adding a copy;
// - the service worker (/sw.js) keeps the form opening without signal.
// Runs before static/js/pickers.js so a restored lead and participants are in the selects the pickers wrap.
(function () {
  var config = window.crmData("visit-form-config");
  var form = document.getElementById("visit-form");
  if (!config || !form || !window.localStorage) { return; }
  var texts = config.texts;
  var SKIP = {csrf_token: true, use_lead: true};
  var sending = false;

  function read(key, fallback) {
    try { var raw = localStorage.getItem(key); return raw ? JSON.parse(raw) : fallback; } catch (e) { return fallback; }
  }
  function write(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, k) { return values[k]; });
  }
  function newToken() {
    var bytes = new Uint8Array(24);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function field(name) { return form.elements.namedItem(name); }
  function keyField() { return field("idempotency_key"); }

  // --- the form's values ------------------------------------------------------------------------------------
  function values() {
    var pairs = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.disabled) { return; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { pairs.push([el.name, o.value]); });
      } else if (el.type !== "submit" && el.type !== "button") {
        pairs.push([el.name, el.value]);
      }
    });
    return pairs;
  }
  function leadLabel() {
    var select = field("lead_id");
    var option = select && select.selectedOptions && select.selectedOptions[0];
    return option ? option.textContent : "";
  }
  function typed(pairs) {  // something the user wrote, not just the defaults the page came with
    return pairs.some(function (p) {
      return ["summary", "outcome", "location", "leader_name", "new_name", "next_title", "lead_id"].indexOf(p[0]) !== -1 && p[1];
    });
  }
  function restore(draft) {
    var byName = {};
    draft.fields.forEach(function (p) { (byName[p[0]] = byName[p[0]] || []).push(p[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "submit" || el.type === "button") { return; }
      var got = byName[el.name] || [];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = got.indexOf(el.value) !== -1;
        el.dispatchEvent(new Event("change", {bubbles: true}));  // 新客商 shows its fields
      } else if (el.tagName === "SELECT") {
        if (el.name === "lead_id" && got[0] && !el.querySelector('option[value="' + CSS.escape(got[0]) + '"]')) {
          el.add(new Option(draft.leadLabel || got[0], got[0]));
        }
        Array.prototype.forEach.call(el.options, function (o) { o.selected = got.indexOf(o.value) !== -1; });
      } else if (el.name in byName) {
        el.value = got[0];
      }
    });
    var box = field("new_lead"), panel = document.getElementById("new-lead");
    if (box && panel) { panel.classList.toggle("show", box.checked); }
  }

  // --- the draft --------------------------------------------------------------------------------------------
  var timer = null;
  function saveDraft() {
    var pairs = values();
    if (!typed(pairs)) { return; }
    write(config.draft, {fields: pairs, leadLabel: leadLabel(), key: keyField().value, at: Date.now()});
  }
  function dropDraft() { localStorage.removeItem(config.draft); }
  function savedTokens() {
    var match = document.cookie.match(new RegExp("(?:^|; )" + config.savedCookie + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]).replace(/"/g, "") : "";
  }
  function showDraftNotice(draft) {
    var box = document.getElementById("visit-draft");
    var when = new Date(draft.at);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    box.querySelector(".visit-draft-text").textContent = fill(texts.restored, {
      when: when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + " " + pad(when.getHours()) + ":" + pad(when.getMinutes())});
    box.classList.remove("d-none");
  }
  function startDraft() {
    var draft = read(config.draft, null);
    if (config.posted) {  // the server showed the form again (an error): its values are the latest
      saveDraft();
    } else if (draft && draft.key && savedTokens().split(".").indexOf(draft.key) !== -1) {
      dropDraft();  // that visit was saved
      keyField().value = newToken();
    } else if (draft && draft.fields && draft.fields.length) {
      restore(draft);
      if (draft.key) { keyField().value = draft.key; }  // a send whose answer was lost is found, not repeated
      showDraftNotice(draft);
    } else {
      keyField().value = newToken();  // the page may be the offline copy: each visit its own token
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(saveDraft, 300); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(saveDraft, 300); });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("[data-visit-discard]")) { return; }
      dropDraft();
      window.location.reload();
    });
  }

  // --- notices ----------------------------------------------------------------------------------------------
  function notice(text, kind) {
    var box = document.getElementById("visit-notice");
    box.className = "alert alert-" + kind;
    box.textContent = text;
    box.scrollIntoView({block: "nearest"});
  }
  function showQueue() {
    var queue = read(config.queue, []);
    var box = document.getElementById("visit-queue");
    box.classList.toggle("d-none", queue.length === 0);
    box.querySelector(".visit-queue-text").textContent = fill(texts.queued, {n: queue.length});
  }

  // --- session and sign-in ----------------------------------------------------------------------------------
  function session() {
    return fetch(config.session, {credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error("session " + r.status); } return r.json(); });
  }
  function setToken(token) {
    var input = field("csrf_token");
    if (input) { input.value = token; }
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { meta.content = token; }
  }
  var afterSignIn = null;
  function askSignIn(then) {
    afterSignIn = then;
    var el = document.getElementById("reauth");
    document.getElementById("reauth-error").classList.add("d-none");
    window.bootstrap.Modal.getOrCreateInstance(el).show();
    el.addEventListener("shown.bs.modal", function () { document.getElementById("reauth-password").focus(); }, {once: true});
  }
  document.getElementById("reauth-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var fail = function (text) {
      var box = document.getElementById("reauth-error");
      box.textContent = text; box.classList.remove("d-none");
    };
    session().then(function (state) {
      var body = new FormData();
      body.append("csrf_token", state.csrf_token);
      body.append("username", document.getElementById("reauth-username").value);
      body.append("password", document.getElementById("reauth-password").value);
      return fetch(config.login, {method: "POST", body: body, credentials: "same-origin"});
    }).then(session).then(function (state) {
      if (!state.signed_in) { fail(texts.badLogin); return; }
      if (state.user_id !== config.user) { fail(texts.otherUser); return; }
      document.getElementById("reauth-password").value = "";
      window.bootstrap.Modal.getOrCreateInstance(document.getElementById("reauth")).hide();
      setToken(state.csrf_token);
      var then = afterSignIn; afterSignIn = null;
      if (then) { then(); }
    }).catch(function () { fail(texts.offline); });
  });

  // --- saving -----------------------------------------------------------------------------------------------
  function submitNow(submitter) {
    form.dataset.checked = "yes";  // the next submit event is this one: let it through
    if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
  }
  function clearForOffline() {  // the visit is queued: an empty form for the next one, with its own token
    ["summary", "outcome", "location", "leader_name", "visitor_count", "next_title", "next_due_at", "new_name",
     "new_contact", "new_mobile"].forEach(function (name) { var el = field(name); if (el) { el.value = ""; } });
    var lead = field("lead_id");
    if (lead && lead.tomselect) { lead.tomselect.clear(); } else if (lead) { lead.value = ""; }
    keyField().value = newToken();
  }
  function enqueue(submitter) {
    var pairs = values();
    if (submitter && submitter.name) { pairs.push([submitter.name, submitter.value]); }
    var key = keyField().value;
    var queue = read(config.queue, []).filter(function (item) { return item.key !== key; });
    queue.push({key: key, action: form.getAttribute("action") || window.location.pathname, fields: pairs,
                leadLabel: leadLabel(), at: Date.now()});
    if (!write(config.queue, queue)) { notice(texts.offline, "danger"); return; }
    dropDraft();
    clearForOffline();
    showQueue();
    notice(texts.queuedNow, "warning");
  }
  var checking = false;  // a double tap while the session is checked is the same save
  form.addEventListener("submit", function (event) {
    if (form.dataset.checked === "yes") { delete form.dataset.checked; return; }
    event.preventDefault();
    if (checking) { return; }
    var submitter = event.submitter;
    saveDraft();
    if (navigator.onLine === false) { enqueue(submitter); return; }
    checking = true;
    session().then(function (state) {
      checking = false;
      if (!state.signed_in) { setToken(state.csrf_token); askSignIn(function () { submitNow(submitter); }); return; }
      if (state.user_id !== config.user) { notice(texts.otherUser, "danger"); return; }
      setToken(state.csrf_token);
      submitNow(submitter);
    }).catch(function () { checking = false; enqueue(submitter); });
  });

  // --- sending the queue ------------------------------------------------------------------------------------
  function sendOne(item, token) {
    var body = new FormData();
    item.fields.forEach(function (p) { body.append(p[0], p[1]); });
    body.append("csrf_token", token);
    return fetch(item.action, {method: "POST", body: body, credentials: "same-origin",
                               headers: {Accept: "application/json"}})
      .then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") !== -1;
        if (!json) { throw new Error("not answered: " + r.status); }  // signed out meanwhile, a proxy page …
        return r.json().then(function (answer) { return {status: r.status, answer: answer}; });
      });
  }
  function remove(key) {
    write(config.queue, read(config.queue, []).filter(function (item) { return item.key !== key; }));
  }
  function flush() {
    if (sending || navigator.onLine === false || read(config.queue, []).length === 0) { return; }
    sending = true;
    var sent = 0;
    session().then(function (state) {
      if (!state.signed_in || state.user_id !== config.user) {
        notice(texts.signInToSend, "warning");
        if (!state.signed_in) { askSignIn(flush); }
        return null;
      }
      var next = function () {
        var item = read(config.queue, [])[0];
        if (!item) { return null; }
        return sendOne(item, state.csrf_token).then(function (result) {
          if (result.status === 200 && result.answer.saved) {
            sent += 1; remove(item.key);
          } else if (result.status === 422) {  // refused (the lead was deleted meanwhile …): back to the form
            remove(item.key);
            write(config.draft, {fields: item.fields, leadLabel: item.leadLabel, key: item.key, at: item.at});
            notice(texts.notSent + " " + (result.answer.messages || []).concat(
              Object.keys(result.answer.errors || {}).map(function (k) { return result.answer.errors[k].join(" "); })).join(" "), "danger");
            restore(read(config.draft, null));
            keyField().value = item.key;
            return null;
          } else {
            throw new Error("refused: " + result.status);
          }
          return next();
        });
      };
      return next();
    }).catch(function () { /* offline again, or the server is busy: the queue waits for the next chance */ })
      .then(function () {
        sending = false;
        showQueue();
        if (sent) { notice(fill(texts.sent, {n: sent}), "success"); }
      });
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-visit-send]")) { flush(); }
  });
  window.addEventListener("online", flush);
  window.addEventListener("storage", function (event) { if (event.key === config.queue) { showQueue(); } });

  startDraft();
  showQueue();
  flush();
  setInterval(flush, 30000);
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(config.worker, {scope: "/"}).catch(function () { /* the form works without */ });
  }
})();
