// The unit desk (docs/units.md): the map of the unit's open cases and the live sockets. Queues,
// the case panel and its forms are server-rendered partials that htmx swaps; this file only draws
// markers, opens a case from the map, and asks htmx to refresh when something changes.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("desk-config").textContent);
  const urls = config.urls;
  const root = document.getElementById("desk");
  const KINDS = config.alertKinds, WORDS = config.words;  // the server's words (frontend/views.py)

  // htmx swaps the server's 4xx answers too: they carry the panel with the reason (a conflict, a field).
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false }, { code: "[23]..", swap: true }, { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
    htmx.config.historyCacheSize = 0; // the desk changes under us: back/forward re-reads the server
    htmx.config.refreshOnHistoryMiss = true;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- the map ----------------------------------------------------------------------------------
  const map = L.map("gcd-map", { minZoom: config.minZoom, maxZoom: config.maxZoom, zoomControl: true });
  if (config.extent) map.fitBounds(config.extent); else map.setView(config.center, config.zoom);
  if (config.tilesUrl) L.tileLayer(config.tilesUrl, { maxZoom: config.maxZoom }).addTo(map);
  const grids = L.geoJSON(null, { style: { color: "#64748b", weight: 1, fill: false }, interactive: false }).addTo(map);
  const markers = L.layerGroup().addTo(map);
  const COLOURS = { green: "#16a34a", yellow: "#eab308", red: "#dc2626" };
  let fitted = false;

  function viewQuery() {
    const b = map.getBounds();
    const c = (v, limit) => Math.max(-limit, Math.min(limit, v)).toFixed(6);
    return "bbox=" + [c(b.getWest(), 180), c(b.getSouth(), 90), c(b.getEast(), 180), c(b.getNorth(), 90)].join(",") +
      "&zoom=" + Math.round(map.getZoom());
  }

  let gridController = null;
  function loadGrids() {
    if (map.getZoom() < 13) { grids.clearLayers(); return; }
    if (gridController) gridController.abort();
    const mine = (gridController = new AbortController());
    fetch(urls.grids + "?" + viewQuery(), { credentials: "same-origin", signal: mine.signal })
      .then((r) => (r.ok ? r.json() : null)).then((data) => { if (data) { grids.clearLayers(); grids.addData(data); } })
      .catch(() => {});
  }
  map.on("moveend", loadGrids);

  async function loadMarkers() {
    const url = urls.cases + "?unit=" + config.user.unit + "&status=handling,suspended,checking&page_size=500";
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const rows = (await response.json()).results;
      markers.clearLayers();
      const points = [];
      rows.forEach((c) => {
        if (c.lon === null || c.lat === null) return;
        const marker = L.circleMarker([c.lat, c.lon], {
          radius: 7, weight: 1.5, color: "#1e293b", fillOpacity: 0.9, fillColor: COLOURS[c.light] || "#94a3b8",
          className: "gcd-case-marker gcd-case-" + c.id,
        });
        marker.bindTooltip(c.number + " · " + c.category.name + " · " + c.status_display);
        marker.on("click", () => openCase(c.id));
        marker.addTo(markers);
        points.push([c.lat, c.lon]);
      });
      if (!fitted && points.length) {
        fitted = true;
        map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 17, animate: false });
      }
      document.getElementById("gcd-map").dataset.state = "ready";
      document.getElementById("gcd-map").dataset.markers = String(rows.length);
    } catch (e) {
      document.getElementById("gcd-map").dataset.state = "error";
    }
  }

  function openCase(id) {
    const url = urls.panel.replace(/0$/, String(id));
    htmx.ajax("GET", url, { target: "#gcd-panel" });
    history.pushState({}, "", location.pathname + "?case=" + id);
  }

  // After a panel swap: mark the row, centre the map on the case.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "gcd-panel" && event.detail.target.id !== "gcd-queues") return;
    markCurrent();
    if (event.detail.target.id === "gcd-panel") {
      const kase = document.getElementById("gcd-case");
      if (kase && kase.dataset.lon) map.panTo([Number(kase.dataset.lat), Number(kase.dataset.lon)]);
    }
  });
  document.body.addEventListener("desk-changed", () => loadMarkers());

  function markCurrent() {
    const kase = document.getElementById("gcd-case");
    document.querySelectorAll(".gcd-row[aria-current]").forEach((row) => row.removeAttribute("aria-current"));
    if (kase) document.querySelectorAll('.gcd-row[data-case="' + kase.dataset.case + '"]').forEach((row) => row.setAttribute("aria-current", "true"));
  }

  // --- live: alerts (with `since`) and case changes ------------------------------------------------
  const seqKey = "gc.desk.seq." + config.user.id;
  const lastSeq = () => Number(localStorage.getItem(seqKey) || 0);
  const list = document.getElementById("gcd-alerts");
  const badge = document.getElementById("gcd-alert-badge");
  let unread = 0;

  function showAlert(alert) {
    if (alert.seq <= lastSeq()) return;
    localStorage.setItem(seqKey, String(alert.seq));
    const li = el("li");
    const report = alert.report;  // report_published: no case; its period and a link to the report
    const title = (KINDS[alert.type] || alert.type) +
      (alert.case ? " · " + alert.case.number + " · " + alert.case.category : "") +
      (report && (report.label || report.key) ? " · " + (report.label || report.key) : "");
    if (alert.case) {
      const a = el("a", null, title);
      a.href = "?case=" + alert.case.id;
      a.dataset.case = String(alert.case.id);
      a.addEventListener("click", (event) => { event.preventDefault(); openCase(alert.case.id); });
      li.append(a);
    } else if (report && report.url) {
      const a = el("a", null, title);
      a.href = report.url;
      li.append(a);
    } else li.textContent = title;
    list.prepend(li);
    if (!alert.read) { unread += 1; badge.hidden = false; badge.textContent = String(unread); }
    toast(title);
    refreshSoon();
  }

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById("gcd-toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
  }

  document.getElementById("gcd-alerts-button").addEventListener("click", (event) => {
    list.hidden = !list.hidden;
    event.currentTarget.setAttribute("aria-expanded", String(!list.hidden));
    if (!list.hidden && !list.children.length) list.append(el("li", "gcd-muted", WORDS.none));
  });

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { htmx.trigger(document.body, "desk-refresh"); loadMarkers(); }, 300);
  }

  function socket(path, onOpen, onMessage) {
    let delay = 1000;
    const connect = () => {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.addEventListener("open", () => { delay = 1000; root.dataset.live = (root.dataset.live || "") + path; onOpen(ws); });
      ws.addEventListener("message", (event) => {
        try { onMessage(JSON.parse(event.data)); } catch (e) { /* not ours */ }
      });
      ws.addEventListener("close", () => { setTimeout(connect, delay); delay = Math.min(delay * 2, 60000); });
    };
    connect();
  }

  // What was missed while the page was closed: the stored alerts after the last seq seen here.
  fetch(urls.alerts + "?since=" + lastSeq() + "&limit=100", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null)).then((data) => { if (data) data.results.forEach(showAlert); })
    .catch(() => {})
    .finally(() => {
      socket(urls.wsAlerts, (ws) => ws.send(JSON.stringify({ since: lastSeq() })), (m) => {
        if (typeof m.seq === "number") showAlert(m);
      });
      socket(urls.wsCases, () => {}, (m) => { if (m.type === "case.changed") refreshSoon(); });
    });

  // Back and forward between cases: the address names the case.
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.htmx) return; // htmx's own history entry
    const id = new URLSearchParams(location.search).get("case");
    if (id) htmx.ajax("GET", urls.panel.replace(/0$/, id), { target: "#gcd-panel" });
  });

  loadMarkers().then(() => { markCurrent(); root.dataset.state = "ready"; });
  setInterval(loadMarkers, 120000);
  window.gridcaseDesk = { openCase: openCase, reload: loadMarkers, map: map };
})();
