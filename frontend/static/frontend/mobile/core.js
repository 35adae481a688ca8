// Gridcase mobile: the parts without a page — IndexedDB, the offline outbox, track points and the
// API session. Loaded by every page and by the service worker (importScripts), so nothing here
// touches the DOM. docs/mobile.md explains the design and the reliability traps it handles.
(function (root) {
  "use strict";

  const DB_NAME = "gridcase-mobile";
  const DB_VERSION = 1;
  const SESSION_URL = "/m/session";
  const CASES_URL = "/api/cases/";
  const POINTS_URL = "/api/patrol/points";
  const POINT_BATCH = 500;
  const SEND_TIMEOUT_MS = 90000;
  const SENT_KEPT = 30; // sent items kept as history (their photos are dropped at once)
  // Answers after which sending the same request again can never succeed (docs/reliability.md R10). A 409
  // from the idempotency layer ("a request is outstanding for this key") is not one of them: the
  // first attempt is still running, so the item waits and the next try gets the stored answer.
  const DEFINITIVE = new Set([400, 409, 413, 422]);

  // --- IndexedDB ------------------------------------------------------------------------------

  let dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        const db = request.result;
        // outbox: reports and task results, keyed by their client id (the case's client_uuid).
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "id" });
        // points: patrol track points not yet acknowledged by the server.
        if (!db.objectStoreNames.contains("points")) db.createObjectStore("points", { keyPath: "id" });
        // cache: last answers of GET requests, for screens opened offline.
        if (!db.objectStoreNames.contains("cache")) db.createObjectStore("cache", { keyPath: "key" });
      };
      request.onsuccess = function () {
        const db = request.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
      request.onblocked = function () { dbPromise = null; reject(new Error("IndexedDB blocked")); };
    });
    return dbPromise;
  }

  // Run `work(store)` in one transaction; resolve with its result once the transaction has
  // committed ("strict": on disk, so a closed tab right after cannot lose it).
  async function inStore(name, mode, work) {
    const db = await openDb();
    return new Promise(function (resolve, reject) {
      const options = mode === "readwrite" ? { durability: "strict" } : undefined;
      const tx = db.transaction(name, mode, options);
      let result;
      tx.oncomplete = function () { resolve(result); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error || new Error("transaction aborted")); };
      const request = work(tx.objectStore(name));
      if (request) request.onsuccess = function () { result = request.result; };
    });
  }

  const db = {
    get: function (store, key) { return inStore(store, "readonly", function (s) { return s.get(key); }); },
    all: function (store) { return inStore(store, "readonly", function (s) { return s.getAll(); }); },
    put: function (store, value) { return inStore(store, "readwrite", function (s) { return s.put(value); }); },
    del: function (store, key) { return inStore(store, "readwrite", function (s) { return s.delete(key); }); },
    clear: function (store) { return inStore(store, "readwrite", function (s) { return s.clear(); }); },
    count: function (store) { return inStore(store, "readonly", function (s) { return s.count(); }); },
    delMany: function (store, keys) {
      return inStore(store, "readwrite", function (s) { keys.forEach(function (k) { s.delete(k); }); });
    },
  };

  // --- small helpers --------------------------------------------------------------------------

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    const b = root.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // Listeners in this window or worker, and in every other tab and the service worker.
  const listeners = [];
  const channel = "BroadcastChannel" in root ? new BroadcastChannel("gridcase-mobile") : null;
  function emit(kind) {
    listeners.forEach(function (fn) { try { fn(kind); } catch (e) { /* a screen's problem */ } });
    if (channel) channel.postMessage({ kind: kind });
  }
  if (channel) channel.onmessage = function (event) {
    listeners.forEach(function (fn) { try { fn(event.data.kind); } catch (e) { /* ignore */ } });
  };
  function onChange(fn) { listeners.push(fn); }

  // One sender at a time across tabs and the service worker (Web Locks); without them the server's
  // idempotency still makes a double send harmless.
  function withLock(name, work) {
    if (root.navigator && root.navigator.locks) return root.navigator.locks.request(name, work);
    return work();
  }

  // --- the session: who is signed in, and a fresh CSRF token (docs/reliability.md R11) ----------------

  class NetworkError extends Error {}

  async function fetchWithTimeout(url, options, ms) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, ms);
    try {
      return await fetch(url, Object.assign({ credentials: "same-origin", signal: controller.signal }, options));
    } catch (e) {
      throw new NetworkError(e && e.name === "AbortError" ? "timeout" : "network");
    } finally {
      clearTimeout(timer);
    }
  }

  // {authenticated, user: {id, username, name, role}, csrf_token}; NetworkError when offline.
  async function session() {
    const response = await fetchWithTimeout(SESSION_URL, { cache: "no-store" }, 15000);
    if (!response.ok) throw new NetworkError("session " + response.status);
    return response.json();
  }

  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }

  // Words from Django's catalogue (/jsi18n/: the pages load it, and the service worker imports it).
  function t(msgid, values) {
    const text = typeof root.gettext === "function" ? root.gettext(msgid) : msgid;
    if (!values) return text;
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  }

  // Which field a refusal names, in words (the request's field names, cases/views.py).
  function fieldName(key) {
    switch (key) {
      case "category": return t("Category");
      case "lon": case "lat": return t("Location");
      case "address": return t("Address");
      case "attributes": return t("Attributes");
      case "photos": return t("Photos");
      case "description": return t("Description");
      case "client_uuid": return t("Report id");
      case "occurred_at": return t("Time");
      case "self_handle": return t("Self-handle");
      case "outcome": return t("Outcome");
      case "reason": return t("Reason");
      case "disposition": return t("Disposition");
      case "demolished_m2": return t("Area demolished");
      case "amount_minutes": return t("Extension");
      case "version": return t("Version");
      case "action": return t("Action");
      default: return key;
    }
  }

  // The server's words for a refusal, flattened: {"lat": ["…"]} → "Location: …".
  function messageOf(body, status) {
    if (!body) return "HTTP " + status;
    if (typeof body === "string") return body;
    if (body.detail) return String(body.detail);
    const parts = [];
    Object.keys(body).forEach(function (key) {
      const value = body[key];
      if (key === "case" || key === "code") return;
      parts.push((key === "non_field_errors" ? "" : t("%(field)s: ", { field: fieldName(key) })) + (Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : value));
    });
    return parts.join(t("; ")) || "HTTP " + status;
  }

  // --- the outbox: reports and task results --------------------------------------------------

  // A report. Its client_uuid and Idempotency-Key are made here, once, and never again: every
  // retry, tomorrow or after a reload, sends the very same request (docs/reliability.md R1, R4).
  async function queueReport(options) {
    const id = uuid();
    const fields = Object.assign({}, options.fields, { client_uuid: id, occurred_at: new Date().toISOString() });
    return addItem({
      id: id, kind: "report", url: CASES_URL, owner: options.owner, title: options.title || t("Report"),
      fields: fields, photos: options.photos || [],
    });
  }

  // A task result (an officer's verify or check, a unit's feedback or request) for a case at the
  // version its author saw. It carries an Idempotency-Key like a report: a retry of a request whose
  // answer was lost gets the stored answer (the server never writes a second event). Without the
  // stored answer (an old item) the retry meets a 409 whose fresh case already holds our event,
  // which counts as sent too (see classify()).
  async function queueTransition(options) {
    const fields = Object.assign({}, options.fields, { action: options.action, version: String(options.version) });
    return addItem({
      id: uuid(), kind: "transition", url: CASES_URL + options.caseId + "/transition", owner: options.owner,
      title: options.title, caseId: options.caseId, action: options.action, version: options.version,
      fields: fields, photos: options.photos || [],
    });
  }

  async function addItem(item) {
    item.idempotencyKey = uuid();
    item.createdAt = new Date().toISOString();
    item.state = "waiting";
    item.attempts = 0;
    item.message = "";
    await db.put("outbox", item);
    emit("outbox");
    return item;
  }

  async function outbox() {
    const items = await db.all("outbox");
    return items.sort(function (a, b) { return a.createdAt < b.createdAt ? 1 : -1; });
  }

  function unsynced(items) {
    return items.filter(function (i) { return i.state === "waiting" || i.state === "sending"; });
  }

  function buildBody(item) {
    const form = new FormData();
    Object.keys(item.fields).forEach(function (key) {
      const value = item.fields[key];
      if (value !== undefined && value !== null && value !== "") form.append(key, value);
    });
    item.photos.forEach(function (photo) {
      form.append("photos", new Blob([photo.data], { type: photo.type || "image/jpeg" }), photo.name);
    });
    return form;
  }

  // One attempt; the request is built now, with the token of now (R11).
  async function attempt(item, token) {
    const headers = { "X-CSRFToken": token };
    if (item.idempotencyKey) headers["Idempotency-Key"] = item.idempotencyKey;
    const response = await fetchWithTimeout(item.url, { method: "POST", headers: headers, body: buildBody(item) },
      SEND_TIMEOUT_MS);
    return { status: response.status, body: await readJson(response) };
  }

  function isCsrfFailure(answer) {
    return answer.status === 403 && answer.body && /CSRF/i.test(String(answer.body.detail || ""));
  }

  // What an answer means for the item: "sent", "rejected" or "waiting" (try again later).
  function classify(item, answer, userId) {
    const body = answer.body || {};
    if (answer.status >= 200 && answer.status < 300) return "sent";
    if (answer.status === 409 && body.code === "idempotency") return "waiting";
    if (answer.status === 409 && item.kind === "transition" && body.case && ourEventIn(item, body.case, userId)) {
      return "sent"; // the first attempt went through; only its answer was lost
    }
    return DEFINITIVE.has(answer.status) ? "rejected" : "waiting";
  }

  function ourEventIn(item, kase, userId) {
    return (kase.events || []).some(function (e) {
      return e.action === item.action && e.seq > item.version && e.actor && e.actor.id === userId;
    });
  }

  function backoffMs(attempts) {
    return Math.min(30000 * Math.pow(2, Math.max(0, attempts - 1)), 10 * 60000);
  }

  let flushing = null;

  // Send every waiting item of the signed-in person, oldest first. `force` ignores the back-off
  // (the `online` event, app open, the officer's button). Safe to call any time, from anywhere.
  function flush(force) {
    if (flushing) return flushing;
    flushing = withLock("gridcase-outbox", function () { return flushLocked(force); })
      .catch(function (e) { return { error: String(e) }; })
      .finally(function () { flushing = null; });
    return flushing;
  }

  async function flushLocked(force) {
    const items = (await db.all("outbox")).filter(function (i) { return i.state === "waiting" || i.state === "sending"; })
      .sort(function (a, b) { return a.createdAt < b.createdAt ? -1 : 1; });
    if (!items.length) return { sent: 0, idle: true };
    let current;
    try {
      current = await session();
    } catch (e) {
      return { offline: true };
    }
    const stats = { sent: 0, rejected: 0, waiting: 0, signedOut: !current.authenticated };
    for (const item of items) {
      // Under the lock nobody else is sending: "sending" is what a closed tab left behind.
      if (!current.authenticated || item.owner !== current.user.id) {
        await update(item, { state: "waiting", message: current.authenticated ? t("Belongs to another account: sign in as its reporter to send it") : t("Sent automatically after you sign in") });
        stats.waiting++;
        continue;
      }
      if (!force && item.nextTryAt && Date.parse(item.nextTryAt) > Date.now()) { stats.waiting++; continue; }
      await update(item, { state: "sending", lastTriedAt: new Date().toISOString(), attempts: (item.attempts || 0) + 1 });
      let answer;
      try {
        answer = await attempt(item, current.csrf_token);
        if (isCsrfFailure(answer)) {
          current = await session();
          answer = await attempt(item, current.csrf_token);
        }
      } catch (e) {
        await update(item, { state: "waiting", message: e.message === "timeout" ? t("Network timed out; will retry") : t("Network interrupted; will retry"),
          nextTryAt: new Date(Date.now() + backoffMs(item.attempts)).toISOString() });
        stats.waiting++;
        stats.networkErrors = (stats.networkErrors || 0) + 1;
        if (!(e instanceof NetworkError)) throw e;
        continue; // the next item may well get through: flaky is not offline
      }
      const outcome = classify(item, answer, current.user.id);
      if (outcome === "sent") {
        const kase = answer.body && (answer.body.number ? answer.body : answer.body.case) || {};
        await update(item, { state: "sent", sentAt: new Date().toISOString(), photos: [], message: "",
          result: { id: kase.id, number: kase.number, status: kase.status, status_display: kase.status_display,
                    duplicates: (answer.body && answer.body.duplicates) || [] } });
        stats.sent++;
      } else if (outcome === "rejected") {
        await update(item, { state: "rejected", message: messageOf(answer.body, answer.status), status: answer.status });
        stats.rejected++;
      } else {
        await update(item, { state: "waiting", message: t("Not accepted by the server for now (%(status)s); will retry: %(message)s", { status: answer.status, message: messageOf(answer.body, answer.status) }),
          status: answer.status, nextTryAt: new Date(Date.now() + backoffMs(item.attempts)).toISOString() });
        stats.waiting++;
      }
    }
    await pruneSent();
    if (stats.networkErrors && !stats.sent && !stats.rejected) stats.offline = true;
    return stats;
  }

  async function update(item, changes) {
    Object.assign(item, changes);
    await db.put("outbox", item);
    emit("outbox");
  }

  async function pruneSent() {
    const sent = (await outbox()).filter(function (i) { return i.state === "sent"; });
    if (sent.length > SENT_KEPT) await db.delMany("outbox", sent.slice(SENT_KEPT).map(function (i) { return i.id; }));
  }

  async function discard(id) {
    await db.del("outbox", id);
    emit("outbox");
  }

  // --- patrol track points -------------------------------------------------------------------

  async function addPoint(point) {
    await db.put("points", point);
    emit("points");
  }

  let sendingPoints = null;

  // Send the stored points in batches of ≤ 500. A replayed batch is harmless (ids); a point the
  // server refuses (it names the index) is dropped and the rest are sent again.
  function flushPoints() {
    if (sendingPoints) return sendingPoints;
    sendingPoints = withLock("gridcase-points", flushPointsLocked)
      .catch(function (e) { return { error: String(e) }; })
      .finally(function () { sendingPoints = null; });
    return sendingPoints;
  }

  async function flushPointsLocked() {
    let points = await db.all("points");
    if (!points.length) return { sent: 0, idle: true };
    let current;
    try { current = await session(); } catch (e) { return { offline: true }; }
    if (!current.authenticated) return { signedOut: true };
    points = points.filter(function (p) { return p.owner === current.user.id; })
      .sort(function (a, b) { return a.at < b.at ? -1 : 1; });
    const stats = { sent: 0, dropped: 0 };
    let csrfRetried = false;
    for (let start = 0; start < points.length;) {
      const batch = points.slice(start, start + POINT_BATCH);
      const body = JSON.stringify({ points: batch.map(function (p) {
        return { id: p.id, lon: p.lon, lat: p.lat, accuracy: p.accuracy, at: p.at };
      }) });
      let answer;
      try {
        const response = await fetchWithTimeout(POINTS_URL, { method: "POST", body: body,
          headers: { "Content-Type": "application/json", "X-CSRFToken": current.csrf_token } }, 30000);
        answer = { status: response.status, body: await readJson(response) };
      } catch (e) {
        stats.offline = true;
        break;
      }
      if (answer.status === 200) {
        await db.delMany("points", batch.map(function (p) { return p.id; }));
        stats.sent += batch.length;
        start += POINT_BATCH;
      } else if (answer.status === 400 && answer.body && answer.body.points && !Array.isArray(answer.body.points)) {
        const bad = Object.keys(answer.body.points).map(function (i) { return batch[Number(i)]; }).filter(Boolean);
        await db.delMany("points", bad.map(function (p) { return p.id; }));
        stats.dropped += bad.length;
        points = points.filter(function (p) { return bad.indexOf(p) < 0; });
      } else if (isCsrfFailure(answer) && !csrfRetried) {
        csrfRetried = true;
        try { current = await session(); } catch (e) { stats.offline = true; break; }
      } else {
        stats.failed = answer.status;
        break;
      }
    }
    emit("points");
    return stats;
  }

  // --- GET with an offline copy -----------------------------------------------------------------

  // The answer of `url` as JSON, saved for offline use under the signed-in person; offline, the
  // last saved answer with `stale: true`. Throws when there is neither.
  async function getJson(url, options) {
    const owner = (options && options.owner) || "any";
    const key = owner + " " + url;
    try {
      const response = await fetchWithTimeout(url, { headers: { Accept: "application/json" } }, 20000);
      if (response.ok) {
        const data = await response.json();
        db.put("cache", { key: key, data: data, at: new Date().toISOString() }).catch(function () {});
        return { data: data, stale: false };
      }
      const error = new Error("HTTP " + response.status);
      error.status = response.status;
      error.body = await readJson(response);
      throw error;
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      const saved = await db.get("cache", key);
      if (!saved) throw e;
      return { data: saved.data, stale: true, at: saved.at };
    }
  }

  root.GC = {
    db: db, uuid: uuid, onChange: onChange, emit: emit, session: session, NetworkError: NetworkError,
    fetchWithTimeout: fetchWithTimeout, messageOf: messageOf, readJson: readJson,
    queueReport: queueReport, queueTransition: queueTransition, outbox: outbox, unsynced: unsynced,
    flush: flush, discard: discard, classify: classify,
    addPoint: addPoint, flushPoints: flushPoints, getJson: getJson, t: t,
  };
})(self);
