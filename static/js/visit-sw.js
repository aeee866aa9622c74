// The visit form's service worker, served at /sw.js by crm/web/webapp (which prepends self.CRM_SHELL: the cache
// version, the shell's assets, the form's and the sign-out's paths). It keeps the form opening without signal:
// the form page network-first (its last copy when offline), static assets cache-first. Nothing else is
// touched: other pages hold personal data that must not sit in a cache. A visit saved without signal is queued
// by the page (static/js/visit-form.js), not here, so it is sent by the page that can show it and sign in.
var SHELL = self.CRM_SHELL;
var CACHE = "crm-visit-" + SHELL.version;
var PREFIX = "crm-visit-";

function isVisitForm(path) {
  return path === SHELL.form || /^\/leads\/\d+\/interactions\/new$/.test(path);
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL.assets).then(function () {
      // The form itself only as the signed-in page (signed out it redirects to sign-in: that is not kept).
      return fetch(SHELL.form, {credentials: "same-origin"}).then(function (response) {
        if (response.status === 200 && !response.redirected) {
          return cache.put(new URL(SHELL.form, self.location.origin).href, response);
        }
      }).catch(function () { /* kept when it is next opened online */ });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(PREFIX) === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function forgetPages() {
  return caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return isVisitForm(new URL(r.url).pathname); })
        .map(function (r) { return cache.delete(r); }));
    });
  });
}

// Only the shell's own files (and the icon font they load): any other static file stays fresh from the server.
function isShellAsset(path) {
  return SHELL.assets.indexOf(path) !== -1 || path.indexOf("/static/vendor/bootstrap-icons/font/fonts/") === 0;
}

function pageKey(request) {
  var url = new URL(request.url);
  return url.origin + url.pathname;  // ?lead=… and the like share one copy
}

function offlinePage() {
  var text = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
    "<title>离线</title><p style='font-family:sans-serif;padding:1rem'>当前没有网络，本机也没有拜访表单的副本。" +
    "请在有网络时打开一次“记录拜访”。</p>";
  return new Response(text, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
}

function networkFirst(request) {
  return fetch(request).then(function (response) {
    // Only a real 200 page: a redirect (to sign-in) or an error page is never kept as the form.
    if (response.status === 200 && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(pageKey(request), copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(pageKey(request)).then(function (hit) {
        return hit || cache.match(new URL(SHELL.form, self.location.origin).href);
      });
    }).then(function (hit) { return hit || offlinePage(); });
  });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.status === 200 && response.type === "basic") { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === SHELL.logout) {
    event.waitUntil(forgetPages());  // signing out leaves no copy of the form (names of colleagues) behind
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate" && isVisitForm(url.pathname)) {
    event.respondWith(networkFirst(request));
  } else if (isShellAsset(url.pathname)) {
    event.respondWith(cacheFirst(request));
  }
});
