{% load i18n %}// Gridcase mobile service worker (scope /m/), version {{ version }}. Rendered by
// frontend.views.mobile_service_worker; docs/mobile.md describes the caching.
//
// - The app shell (every /m/ page and its static files) is cached at install, so the app opens
//   and reloads with no network at all.
// - Pages: network first (fresh when the network answers within a few seconds), the cached copy
//   otherwise. Static files: cache first; their version is in this file, so a change installs a
//   new worker and a new cache.
// - API requests are never cached here and never replayed here from a stored request: the pages
//   keep their own queue in IndexedDB and build each request at send time (docs/reliability.md R9–R11).
//   Where the browser has Background Sync, a `sync` event sends that same queue (core.js).
"use strict";

const VERSION = "{{ version }}";
const CACHE = "gridcase-m-" + VERSION;
const PAGES = {{ pages|safe }};
const ASSETS = {{ assets|safe }};
const HOME = "{{ home|escapejs }}";
const PAGE_TIMEOUT_MS = 4000;

const CATALOG = "{{ catalog|escapejs }}";

// The words first (Django's JavaScriptCatalog, in the language of the install), then the queue.
importScripts(CATALOG, "{{ core|escapejs }}");

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    // A page that answers with the login form (signed out) is not the shell: leave it out.
    await Promise.all(PAGES.map(async function (url) {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok && !response.redirected) await cache.put(url, response);
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    for (const name of await caches.keys()) {
      if (name.startsWith("gridcase-m-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isPage(url) {
  return url.origin === self.location.origin && PAGES.indexOf(url.pathname) >= 0;
}

// The catalogue is cached like a page (network first): it changes with the language.
function isCatalog(url) {
  return url.origin === self.location.origin && url.pathname === CATALOG;
}

function isAsset(url) {
  return url.origin === self.location.origin && ASSETS.indexOf(url.pathname) >= 0;
}

async function cachedPage(url) {
  const cache = await caches.open(CACHE);
  return (await cache.match(url.pathname, { ignoreSearch: true })) || (await cache.match(HOME));
}

// Network first, with a timeout: a page that answers keeps the cache fresh; a slow or absent
// network gets the cached shell (the network answer, if it comes later, still updates the cache).
async function page(request) {
  const url = new URL(request.url);
  const network = fetch(request).then(async function (response) {
    if (response.ok && !response.redirected) {
      const cache = await caches.open(CACHE);
      await cache.put(url.pathname, response.clone());
    }
    return response;
  });
  network.catch(function () {}); // awaited again below when there is no cached copy
  const timeout = new Promise(function (resolve) { setTimeout(resolve, PAGE_TIMEOUT_MS, null); });
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch (e) {
    // offline: fall through to the cache
  }
  const cached = await cachedPage(url);
  if (cached) return cached;
  try {
    return await network;
  } catch (e) {
    return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
      "<p style='font:18px sans-serif;padding:1em'>{% filter escapejs %}{% translate "Offline, and this page is not saved on the phone. Open it again when online." context "mobile" %}{% endfilter %}</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

async function asset(request) {
  const cached = await caches.match(request, { cacheName: CACHE });
  return cached || fetch(request);
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if ((request.mode === "navigate" && isPage(url)) || isCatalog(url)) {
    event.respondWith(page(request));
  } else if (isAsset(url)) {
    event.respondWith(asset(request));
  }
  // Everything else (the API, the session, the WebSocket) goes to the network untouched.
});

// Background Sync (Chromium): the browser wakes this worker when the network is back, even with
// the app closed. Safari and Firefox have none; the pages send on open, on `online` and on a
// timer instead (docs/reliability.md R13).
self.addEventListener("sync", function (event) {
  if (event.tag === "gridcase-outbox") {
    // A rejected promise tells the browser to try again later.
    event.waitUntil(Promise.all([self.GC.flush(true), self.GC.flushPoints()]).then(function (results) {
      if (results.some(function (r) { return r && (r.offline || r.waiting || r.error); })) {
        throw new Error("not everything was sent");
      }
    }));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "flush") event.waitUntil(self.GC.flush(true));
});
