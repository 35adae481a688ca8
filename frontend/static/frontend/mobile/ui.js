// Gridcase mobile: what every page shares — the status bar (network, unsynced banner, sign-in),
// the tab badges, sending the outbox (on open, on `online`, on a timer), the service worker, the
// alert stream, the patrol tracker, positions and photo compression. Pages use window.UI.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("m-config").textContent);
  const urls = config.urls;
  const RETRY_EVERY_MS = 30000;
  const PHOTO_MAX_SIDE = 1600;
  const PHOTO_QUALITY = 0.8;

  // --- DOM helpers: names come from the database, so text only, never HTML strings -------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function $(id) { return document.getElementById(id); }

  let toastTimer = null;
  function toast(message) {
    const box = $("m-toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  // Words come from Django's catalogue (/jsi18n/, djangojs.po): t("msgid", {name: value}).
  const t = GC.t;

  function formatTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const pad = function (n) { return String(n).padStart(2, "0"); };
    const time = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() === new Date().toDateString()) return t("today %(time)s", { time: time });
    return t("%(month)s/%(day)s %(time)s", { month: d.getMonth() + 1, day: d.getDate(), time: time });
  }

  // The Shanghai calendar day (the product's time zone), as YYYY-MM-DD.
  function today() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  }

  // The server's words and rules (frontend/views.py puts them in the page): statuses, actions with
  // their inputs and outcomes (cases/workflow.py), alert kinds, photo stages, dispositions.
  const WORKFLOW = config.workflow;
  const LABELS = config.labels;
  const STATUS = {};
  WORKFLOW.statuses.forEach(function (s) { STATUS[s.key] = s.label; });
  function statusLabel(key) { return STATUS[key] || key; }
  function action(key) { return WORKFLOW.actions[key] || null; }
  function actionLabel(key) { return action(key) ? action(key).label : key; }
  function outcomeLabel(actionKey, key) {
    const found = ((action(actionKey) || {}).outcomes || []).find(function (o) { return o.key === key; });
    return found ? found.label : key;
  }
  function label(group, key) { return (LABELS[group] || {})[key] || key; }
  // The outbox's own states (core.js: the server has no such thing).
  function outboxState(state) {
    if (state === "sending") return t("Sending");
    if (state === "sent") return t("Sent");
    return state === "rejected" ? t("Rejected") : t("Waiting to send");
  }

  // --- who is signed in (kept for offline use) -------------------------------------------------

  let me = null;
  try { me = JSON.parse(localStorage.getItem("gc.me") || "null"); } catch (e) { me = null; }

  const mePromise = (async function () {
    try {
      const response = await GC.fetchWithTimeout(urls.me, { headers: { Accept: "application/json" } }, 15000);
      if (response.ok) {
        const fresh = await response.json();
        if (me && me.id !== fresh.id) clearPersonalState(me.id);
        me = fresh;
        localStorage.setItem("gc.me", JSON.stringify(me));
        document.body.classList.toggle("m-unit", isUnit(me));
        $("m-signin").hidden = true;
      } else if (response.status === 401 || response.status === 403) {
        $("m-signin").hidden = false;
      }
    } catch (e) {
      // offline: the saved person, if any
    }
    return me;
  })();

  // A handling unit's crew member (docs/units.md): tasks are the unit's cases, no report or patrol.
  function isUnit(person) { return !!(person && person.role === "unit_member"); }

  function forget() {
    if (me) clearPersonalState(me.id);
    localStorage.removeItem("gc.me");
  }

  function clearPersonalState(oldId) {
    // Another person signed in on this phone: their lists are not ours. The outbox stays: each
    // item carries its owner and waits for them (core.js).
    ["gc.tasks", "gc.alerts." + oldId, "gc.alerts.seq." + oldId, "gc.unread"].forEach(function (k) {
      localStorage.removeItem(k);
    });
  }

  // A POST with the CSRF token of now (docs/reliability.md R11); JSON in, {status, body} out.
  async function post(url, payload) {
    const current = await GC.session();
    const response = await GC.fetchWithTimeout(url, {
      method: "POST", body: JSON.stringify(payload),
      headers: { "Content-Type": "application/json", "X-CSRFToken": current.csrf_token },
    }, 20000);
    return { status: response.status, body: await GC.readJson(response) };
  }

  // --- network state and the unsynced banner ----------------------------------------------------

  let reachable = navigator.onLine;

  function renderNet() {
    const online = navigator.onLine && reachable;
    const chip = $("m-net");
    chip.dataset.state = online ? "online" : "offline";
    chip.textContent = online ? t("Online") : t("Offline");
    $("m-offline").hidden = online;
    document.body.classList.toggle("m-is-offline", !online);
  }

  async function renderUnsynced() {
    const items = await GC.outbox();
    const waiting = GC.unsynced(items);
    const banner = $("m-unsynced");
    banner.hidden = waiting.length === 0;
    banner.textContent = t("%(count)s not synced · view", { count: waiting.length });
    banner.dataset.count = String(waiting.length);
    document.dispatchEvent(new CustomEvent("gc:outbox", { detail: { items: items, waiting: waiting.length } }));
  }

  // What a send attempt says about the network ("idle": nothing was sent, so it says nothing).
  function noteResult(result) {
    if (!result || result.idle) return;
    if (result.offline) reachable = false;
    else if (!result.error) reachable = true;
    if (result.signedOut) $("m-signin").hidden = false;
    renderNet();
  }

  async function sendNow(force) {
    const result = await GC.flush(force);
    noteResult(result);
    noteResult(await GC.flushPoints());
    return result;
  }

  GC.onChange(function (kind) {
    if (kind === "outbox") renderUnsynced();
    if (kind === "points") document.dispatchEvent(new CustomEvent("gc:points"));
  });

  window.addEventListener("online", function () { reachable = true; renderNet(); sendNow(true); });
  window.addEventListener("offline", function () { renderNet(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") sendNow(true);
  });
  setInterval(function () { sendNow(false); }, RETRY_EVERY_MS);

  // --- the service worker, persistent storage, Background Sync -----------------------------------

  let registration = null;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(urls.sw, { scope: urls.home }).then(function (reg) {
      registration = reg;
    }).catch(function () { /* no offline shell on this browser; the queue still works */ });
  }

  function askBackgroundSync() {
    if (registration && registration.sync) registration.sync.register("gridcase-outbox").catch(function () {});
  }

  // Ask the browser not to evict the queue under storage pressure (docs/reliability.md R12).
  const persisted = (navigator.storage && navigator.storage.persist)
    ? navigator.storage.persisted().then(function (yes) { return yes || navigator.storage.persist(); }).catch(function () { return false; })
    : Promise.resolve(false);

  // Put an item in the outbox, then try to send it at once.
  async function enqueue(kind, options) {
    const item = kind === "report" ? await GC.queueReport(options) : await GC.queueTransition(options);
    askBackgroundSync();
    sendNow(true);
    return item;
  }

  // --- badges -----------------------------------------------------------------------------------

  function setBadge(name, count) {
    document.querySelectorAll('[data-badge="' + name + '"]').forEach(function (badge) {
      badge.hidden = !count;
      badge.textContent = count > 99 ? "99+" : String(count || "");
    });
  }

  // --- tasks: verify (verifying) and check (checking) cases in my grids ------------------------

  async function loadTasks() {
    const person = await mePromise;
    const owner = person ? person.id : "any";
    if (isUnit(person)) return loadUnitTasks(person, owner);
    const [verify, check] = await Promise.all([
      GC.getJson(urls.cases + "?status=verifying&page_size=200", { owner: owner }),
      GC.getJson(urls.cases + "?status=checking&page_size=200", { owner: owner }),
    ]);
    const mine = function (rows) {
      const grids = new Set((person && person.grids) || []);
      return rows.filter(function (c) { return c.grid && grids.has(c.grid.code); });
    };
    const tasks = { verify: mine(verify.data.results), check: mine(check.data.results),
                    stale: verify.stale || check.stale, at: verify.at || check.at };
    localStorage.setItem("gc.tasks", String(tasks.verify.length + tasks.check.length));
    setBadge("tasks", tasks.verify.length + tasks.check.length);
    return tasks;
  }

  // A unit's tasks: the cases it is handling (assigned to me first) and those fed back, to check.
  async function loadUnitTasks(person, owner) {
    const unit = person.organisation ? person.organisation.id : 0;
    const [handling, checking] = await Promise.all([
      GC.getJson(urls.cases + "?status=handling&unit=" + unit + "&page_size=200", { owner: owner }),
      GC.getJson(urls.cases + "?status=checking&unit=" + unit + "&page_size=200", { owner: owner }),
    ]);
    const tasks = { unit: true, handle: handling.data.results, fedback: checking.data.results,
                    stale: handling.stale || checking.stale, at: handling.at || checking.at };
    localStorage.setItem("gc.tasks", String(tasks.handle.length));
    setBadge("tasks", tasks.handle.length);
    return tasks;
  }

  // --- alerts: the stored list, the WebSocket with `since`, polling as a fallback -----------------

  const ALERT_KEPT = 100;
  const alerts = {
    list: [], lastSeq: 0, unread: Number(localStorage.getItem("gc.unread") || 0), live: "connecting",
  };

  function alertKeys() { return { list: "gc.alerts." + me.id, seq: "gc.alerts.seq." + me.id }; }

  function loadAlertState() {
    const keys = alertKeys();
    try { alerts.list = JSON.parse(localStorage.getItem(keys.list) || "[]"); } catch (e) { alerts.list = []; }
    alerts.lastSeq = Number(localStorage.getItem(keys.seq) || 0);
  }

  function saveAlerts() {
    const keys = alertKeys();
    alerts.list.sort(function (a, b) { return b.seq - a.seq; });
    alerts.list = alerts.list.slice(0, ALERT_KEPT);
    localStorage.setItem(keys.list, JSON.stringify(alerts.list));
    localStorage.setItem(keys.seq, String(alerts.lastSeq));
    localStorage.setItem("gc.unread", String(alerts.unread));
    setBadge("alerts", alerts.unread);
    document.dispatchEvent(new CustomEvent("gc:alerts"));
  }

  // Each alert once: a seq we have is dropped (docs/domain.md §9).
  function takeAlert(alert, live) {
    if (alert.seq <= alerts.lastSeq) return false;
    alerts.list.push(alert);
    alerts.lastSeq = alert.seq;
    if (live && !alert.read) alerts.unread += 1;
    return true;
  }

  async function catchUpAlerts() {
    for (let page = 0; page < 10; page++) {
      const answer = await GC.getJson(urls.alerts + "?since=" + alerts.lastSeq + "&limit=500");
      if (answer.stale) return;
      answer.data.results.forEach(function (a) { takeAlert(a, false); });
      alerts.unread = answer.data.unread;
      if (answer.data.results.length < 500) break;
    }
    saveAlerts();
  }

  let socket = null;
  let socketFailures = 0;
  let pollTimer = null;

  function connectAlerts() {
    if (!("WebSocket" in window)) return startPolling();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let opened = false;
    try {
      socket = new WebSocket(scheme + location.host + urls.websocket);
    } catch (e) {
      return startPolling();
    }
    socket.onopen = function () {
      opened = true;
      socketFailures = 0;
      alerts.live = "live";
      // After every (re)connect: everything after the last seq we hold, then live pushes.
      socket.send(JSON.stringify({ since: alerts.lastSeq }));
      document.dispatchEvent(new CustomEvent("gc:alerts"));
    };
    socket.onmessage = function (event) {
      let alert;
      try { alert = JSON.parse(event.data); } catch (e) { return; }
      if (typeof alert.seq !== "number") return;
      if (takeAlert(alert, true)) {
        saveAlerts();
        toast(t("New message: %(title)s", { title: alertTitle(alert) }) + (alert.case ? " · " + alert.case.number : ""));
      }
    };
    socket.onclose = function () {
      socket = null;
      alerts.live = "polling";
      socketFailures += opened ? 0 : 1;
      document.dispatchEvent(new CustomEvent("gc:alerts"));
      startPolling();
      const wait = Math.min(5000 * Math.pow(2, socketFailures), 300000);
      setTimeout(connectAlerts, wait);
    };
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () {
      if (socket && socket.readyState === WebSocket.OPEN) return;
      catchUpAlerts().catch(function () {});
    }, 60000);
  }

  // Everything up to `upTo`, or only the alert `only` (a tapped one).
  async function markAlertsRead(upTo, only) {
    const answer = await post(urls.alertsRead, only ? { seqs: [only] } : { up_to: upTo });
    if (answer.status !== 200) throw new Error(GC.messageOf(answer.body, answer.status));
    alerts.list.forEach(function (a) { if (only ? a.seq === only : a.seq <= upTo) a.read = true; });
    alerts.unread = answer.body.unread;
    saveAlerts();
  }

  // A report alert names its period: "2026年第47周周通报已发布", "2026年11月月报已发布".
  const REPORT_TITLES = [
    [/^(\d{4})-W(\d{1,2})$/, "%(year)s week %(n)s: weekly report published"],
    [/^(\d{4})-(\d{1,2})$/, "%(year)s month %(n)s: monthly report published"],
    [/^(\d{4})-Q(\d)$/, "%(year)s quarter %(n)s: quarterly review published"],
  ];
  function alertTitle(alert) {
    const key = alert.type === "report_published" && alert.report ? alert.report.key || "" : "";
    for (const pair of REPORT_TITLES) {
      const m = pair[0].exec(key);
      if (m) return t(pair[1], { year: m[1], n: Number(m[2]) });
    }
    return label("alerts", alert.type);
  }

  // --- positions: one watch shared by the page and the patrol tracker ---------------------------

  const positionListeners = [];
  let lastPosition = null;
  let watchId = null;
  let positionError = null;

  function watchPosition(listener) {
    if (listener) positionListeners.push(listener);
    if (lastPosition && listener) listener(lastPosition, null);
    if (watchId !== null || !("geolocation" in navigator)) {
      if (!("geolocation" in navigator) && listener) listener(null, { code: 0, message: t("This browser cannot locate") });
      return;
    }
    watchId = navigator.geolocation.watchPosition(function (position) {
      lastPosition = position;
      positionError = null;
      positionListeners.forEach(function (fn) { fn(position, null); });
    }, function (error) {
      positionError = error;
      positionListeners.forEach(function (fn) { fn(lastPosition, error); });
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
  }

  function positionProblem(error) {
    if (!error) return "";
    if (error.code === 1) return t("No permission to locate: allow this site to use your location in the browser settings");
    if (error.code === 3) return t("Locating timed out, still trying…");
    return t("Cannot locate for now: %(message)s", { message: error.message || "" });
  }

  const EARTH_M = 6371008.8;
  function distanceM(lon1, lat1, lon2, lat2) {
    const r = Math.PI / 180;
    const dp = (lat2 - lat1) * r, dl = (lon2 - lon1) * r;
    const a = Math.sin(dp / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dl / 2) ** 2;
    return 2 * EARTH_M * Math.asin(Math.sqrt(a));
  }
  function bearing(lon1, lat1, lon2, lat2) {
    const r = Math.PI / 180;
    const y = Math.sin((lon2 - lon1) * r) * Math.cos(lat2 * r);
    const x = Math.cos(lat1 * r) * Math.sin(lat2 * r) - Math.sin(lat1 * r) * Math.cos(lat2 * r) * Math.cos((lon2 - lon1) * r);
    return (Math.atan2(y, x) / r + 360) % 360;
  }
  function direction(degrees) {
    const words = [t("N"), t("NE"), t("E"), t("SE"), t("S"), t("SW"), t("W"), t("NW")];
    return words[Math.round(degrees / 45) % 8];
  }
  // "东北 120 米" and the bearing in degrees, from the live position to a spot.
  function directionTo(position, lon, lat) {
    if (!position || lon === null || lon === undefined) return null;
    const from = position.coords;
    const d = distanceM(from.longitude, from.latitude, lon, lat);
    const b = bearing(from.longitude, from.latitude, lon, lat);
    const far = d < 1000 ? t("%(n)s m", { n: Math.round(d) }) : t("%(n)s km", { n: (d / 1000).toFixed(1) });
    const text = d < 10 ? t("Right here") : direction(b) + " " + far;
    return { distance: d, bearing: b, text: text };
  }
  function arrow(degrees) {
    const span = el("span", "m-arrow", "↑");
    span.style.transform = "rotate(" + Math.round(degrees) + "deg)";
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  // --- the patrol tracker: runs on every page while a patrol is on ------------------------------

  const patrol = {
    state: function () {
      try { return JSON.parse(localStorage.getItem("gc.patrol") || "null"); } catch (e) { return null; }
    },
    active: function () {
      const s = patrol.state();
      return !!(s && s.active && me && s.owner === me.id);
    },
    timer: null,
    lastFix: null,
    skipped: "",
    start: function () {
      localStorage.setItem("gc.patrol", JSON.stringify({ active: true, owner: me.id, since: new Date().toISOString() }));
      localStorage.removeItem("gc.patrol.last");
      patrol.run(); // the first fix (at once, if the phone has one) records the first point
      document.dispatchEvent(new CustomEvent("gc:patrol"));
    },
    stop: function () {
      localStorage.setItem("gc.patrol", JSON.stringify({ active: false }));
      clearInterval(patrol.timer);
      patrol.timer = null;
      releaseWakeLock();
      sendNow(true);
      document.dispatchEvent(new CustomEvent("gc:patrol"));
    },
    run: function () {
      if (patrol.timer) return;
      watchPosition(function (position) {
        const first = patrol.lastFix === null && position;
        patrol.lastFix = position;
        if (first && patrol.active()) patrol.record();
      });
      patrol.timer = setInterval(patrol.record, config.patrolIntervalSeconds * 1000);
      keepScreenOn();
    },
    // One point from the latest fix: recorded now, stored first, then sent when possible.
    record: async function () {
      if (!patrol.active()) return;
      const fix = patrol.lastFix;
      if (!fix || Date.now() - fix.timestamp > 2 * config.patrolIntervalSeconds * 1000 + 10000) {
        patrol.skipped = t("Waiting for a position…");
        document.dispatchEvent(new CustomEvent("gc:patrol"));
        return;
      }
      if (fix.coords.accuracy > 200) {
        patrol.skipped = t("Position too imprecise (±%(n)s m): not recorded this time", { n: Math.round(fix.coords.accuracy) });
        document.dispatchEvent(new CustomEvent("gc:patrol"));
        return;
      }
      patrol.skipped = "";
      // Every page runs the tracker; opening another screen must not add a point out of turn.
      const last = Number(localStorage.getItem("gc.patrol.last") || 0);
      if (Date.now() - last < config.patrolIntervalSeconds * 1000 - 1000) return;
      localStorage.setItem("gc.patrol.last", String(Date.now()));
      await GC.addPoint({ id: GC.uuid(), owner: me.id, lon: fix.coords.longitude, lat: fix.coords.latitude,
                          accuracy: Math.round(fix.coords.accuracy * 10) / 10, at: new Date().toISOString() });
      const count = Number(localStorage.getItem("gc.patrol.count." + today()) || 0) + 1;
      localStorage.setItem("gc.patrol.count." + today(), String(count));
      document.dispatchEvent(new CustomEvent("gc:patrol"));
      askBackgroundSync();
      noteResult(await GC.flushPoints());
    },
  };

  let wakeLock = null;
  async function keepScreenOn() {
    if (!("wakeLock" in navigator) || wakeLock) return;
    try { wakeLock = await navigator.wakeLock.request("screen"); wakeLock.addEventListener("release", function () { wakeLock = null; }); }
    catch (e) { wakeLock = null; }
  }
  function releaseWakeLock() { if (wakeLock) { wakeLock.release(); wakeLock = null; } }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && patrol.active()) keepScreenOn();
  });

  // --- photos: compressed in the browser before they are stored --------------------------------

  function decode(file) {
    if ("createImageBitmap" in window) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return decodeWithImg(file); });
    }
    return decodeWithImg(file);
  }
  function decodeWithImg(file) {
    return new Promise(function (resolve, reject) {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image this browser can read")); };
      img.src = url;
    });
  }

  // JPEG ≤ 1600 px on the longest side, quality 0.8. The original's EXIF (time and GPS: evidence
  // the server checks) is carried over with its orientation reset, since the pixels are now
  // upright. A photo the browser cannot decode (HEIC on some phones) is kept as it is: the server
  // reads those too.
  async function compressPhoto(file) {
    const original = await file.arrayBuffer();
    let image;
    try { image = await decode(file); } catch (e) {
      return { name: file.name || "photo", type: file.type || "application/octet-stream", data: original, compressed: false };
    }
    const width = image.width, height = image.height;
    const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    if (image.close) image.close();
    const blob = await new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY); });
    let data = await blob.arrayBuffer();
    try { data = withExifOf(original, data); } catch (e) { /* no EXIF kept: the server flags it */ }
    const base = (file.name || "photo").replace(/\.[^.]*$/, "");
    return { name: base + ".jpg", type: "image/jpeg", data: data, width: canvas.width, height: canvas.height, compressed: true };
  }

  // The APP1 Exif segment of `original` (a JPEG), Orientation set to 1, put in place of the
  // canvas JPEG's JFIF header. Returns `jpeg` unchanged when the original has no EXIF.
  function withExifOf(original, jpeg) {
    const src = new DataView(original);
    if (src.byteLength < 4 || src.getUint16(0) !== 0xffd8) return jpeg;
    let offset = 2, exif = null;
    while (offset + 4 <= src.byteLength) {
      const marker = src.getUint16(offset);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break;
      const length = src.getUint16(offset + 2);
      if (marker === 0xffe1 && src.getUint32(offset + 4) === 0x45786966) { // "Exif"
        exif = new Uint8Array(original.slice(offset, offset + 2 + length));
        break;
      }
      offset += 2 + length;
    }
    if (!exif) return jpeg;
    resetOrientation(new DataView(exif.buffer));
    const out = new Uint8Array(jpeg);
    let rest = 2;
    const dst = new DataView(jpeg);
    if (dst.getUint16(2) === 0xffe0) rest = 4 + dst.getUint16(4); // drop the JFIF APP0
    const merged = new Uint8Array(2 + exif.length + out.length - rest);
    merged.set([0xff, 0xd8], 0);
    merged.set(exif, 2);
    merged.set(out.subarray(rest), 2 + exif.length);
    return merged.buffer;
  }

  function resetOrientation(view) {
    const tiff = 10; // FFE1, length, "Exif\0\0"
    const little = view.getUint16(tiff) === 0x4949;
    const ifd0 = tiff + view.getUint32(tiff + 4, little);
    const entries = view.getUint16(ifd0, little);
    for (let i = 0; i < entries; i++) {
      const entry = ifd0 + 2 + i * 12;
      if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
    }
  }

  // A photo picker: compressed photos in `list`, thumbnails in `listEl`, a remove button each.
  function photoPicker(input, listEl, onChange) {
    const list = [];
    function render() {
      listEl.replaceChildren();
      list.forEach(function (photo, index) {
        const li = el("li", "m-photo");
        const img = el("img");
        img.alt = t("Photo %(n)s", { n: index + 1 });
        img.src = photo.preview;
        const remove = el("button", "m-photo-remove", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", t("Remove photo %(n)s", { n: index + 1 }));
        remove.addEventListener("click", function () {
          URL.revokeObjectURL(photo.preview);
          list.splice(index, 1);
          render();
          if (onChange) onChange(list);
        });
        li.append(img, remove);
        listEl.append(li);
      });
    }
    input.addEventListener("change", async function () {
      const files = Array.from(input.files || []);
      input.value = "";
      for (const file of files) {
        if (list.length >= 9) { toast(t("At most 9 photos at a time")); break; }
        const busy = el("li", "m-photo m-photo-busy", t("Compressing…"));
        listEl.append(busy);
        try {
          const photo = await compressPhoto(file);
          photo.preview = URL.createObjectURL(new Blob([photo.data], { type: photo.type }));
          list.push(photo);
        } catch (e) {
          toast(t("Cannot read the photo: %(message)s", { message: e.message }));
        }
        render();
      }
      if (onChange) onChange(list);
      document.dispatchEvent(new CustomEvent("gc:photos", { detail: { count: list.length } }));
    });
    return {
      list: list,
      clear: function () { list.splice(0, list.length); render(); },
      // What the outbox stores: the bytes, not the preview URL.
      stored: function () { return list.map(function (p) { return { name: p.name, type: p.type, data: p.data }; }); },
    };
  }

  // --- start ------------------------------------------------------------------------------------

  renderNet();
  renderUnsynced();
  setBadge("tasks", Number(localStorage.getItem("gc.tasks") || 0));
  setBadge("alerts", alerts.unread);

  mePromise.then(function (person) {
    if (!person) return;
    loadAlertState();
    setBadge("alerts", alerts.unread);
    if (patrol.active()) patrol.run();
    document.querySelectorAll("[data-patrol-dot]").forEach(function (dot) { dot.hidden = !patrol.active(); });
    catchUpAlerts().catch(function () {}).finally(connectAlerts);
    if (document.body.dataset.page !== "tasks") loadTasks().catch(function () {});
  });
  document.addEventListener("gc:patrol", function () {
    document.querySelectorAll("[data-patrol-dot]").forEach(function (dot) { dot.hidden = !patrol.active(); });
  });
  sendNow(true); // app open (docs/reliability.md R13)

  window.UI = {
    config: config, urls: urls, el: el, $: $, toast: toast, formatTime: formatTime, today: today, t: t,
    statusLabel: statusLabel, action: action, actionLabel: actionLabel, outcomeLabel: outcomeLabel, label: label, outboxState: outboxState,
    me: function () { return mePromise; }, isUnit: isUnit, post: post, enqueue: enqueue, sendNow: sendNow, loadTasks: loadTasks,
    alerts: alerts, catchUpAlerts: catchUpAlerts, markAlertsRead: markAlertsRead, alertTitle: alertTitle,
    watchPosition: watchPosition, lastPosition: function () { return lastPosition; }, positionProblem: positionProblem, directionTo: directionTo, arrow: arrow,
    distanceM: distanceM, patrol: patrol, photoPicker: photoPicker, compressPhoto: compressPhoto,
    persisted: persisted, renderUnsynced: renderUnsynced, forget: forget,
  };
})();
