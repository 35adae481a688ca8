// The console's map (docs/console.md): grids coloured by a metric under the server's colour
// scales, area drill-down, and the open cases as clustered markers by traffic light. console.js
// (the page: panel, queues, alerts, sockets) and the patrol and campaign layers use it through
// window.gridcaseConsole. Words come from the page (#gcc-labels, the toolbar, the legend).
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("console-config").textContent);
  const L10N = document.getElementById("gcc-labels").dataset;
  const SCALES = config.scales;
  const root = document.getElementById("console");
  // The filter's own options are the open statuses; those in its group are finished (shown for the period).
  const OPEN_STATUSES = Array.from(document.querySelectorAll("#gcc-status > option")).map((o) => o.value).filter(Boolean);
  const finishedChosen = () => !!state.filters.status && OPEN_STATUSES.indexOf(state.filters.status) < 0;
  const LIGHT_COLOURS = { green: "#16a34a", yellow: "#eab308", red: "#dc2626" };
  const LIGHT_RANK = { green: 0, yellow: 1, red: 2 };
  const C = (window.gridcaseConsole = {}); // console.js adds openCase and toast
  document.querySelectorAll("#gcc-legend .gcc-sw[data-colour]").forEach((sw) => { sw.style.background = sw.dataset.colour; });
  function t(key, vars) {
    let s = L10N[key] || key;
    Object.keys(vars || {}).forEach((k) => { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = content;
    return node;
  }
  function getJSON(url, signal) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: signal })
      .then((response) => { if (!response.ok) throw new Error("HTTP " + response.status); return response.json(); });
  }
  function query(params) {
    const parts = Object.keys(params).filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== "")
      .map((k) => encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
    return parts.length ? "?" + parts.join("&") : "";
  }
  const SHANGHAI = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
  const todayISO = () => SHANGHAI.format(new Date());
  function addDays(iso, n) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  // --- Map ------------------------------------------------------------------------------------------
  const mapEl = document.getElementById("gcc-map");
  const map = L.map(mapEl, { minZoom: config.minZoom, maxZoom: config.maxZoom, zoomSnap: 1 });
  if (config.extent) map.fitBounds(config.extent, { padding: [16, 16] });
  else map.setView(config.center, config.zoom);
  // GCJ-02 (the "Mars" datum of Chinese commercial maps): our data is WGS84, so a GCJ-02 tile layer
  // is drawn shifted by the local offset — for display only; nothing is ever stored converted.
  const GCJ = (function () {
    const A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
    const outOfChina = (lon, lat) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
    const wave = (x, y) => (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    function tLat(x, y) {
      return -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + wave(x, y) +
        (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3 + (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    }
    function tLon(x, y) {
      return 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + wave(x, y) +
        (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3 + (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    }
    function fromWgs84(lon, lat) {
      if (outOfChina(lon, lat)) return [lon, lat];
      const radLat = lat / 180 * PI;
      const magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat), sqrtMagic = Math.sqrt(magic);
      const dLat = (tLat(lon - 105, lat - 35) * 180) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
      const dLon = (tLon(lon - 105, lat - 35) * 180) / (A / sqrtMagic * Math.cos(radLat) * PI);
      return [lon + dLon, lat + dLat];
    }
    return { fromWgs84: fromWgs84 };
  })();
  const toGcj = (latlng) => { const p = GCJ.fromWgs84(latlng.lng, latlng.lat); return L.latLng(p[1], p[0]); };
  // The tile grid is laid out around the GCJ-02 position of the map centre instead of the centre.
  const GcjTileLayer = L.TileLayer.extend({
    _setZoomTransform: function (level, center, zoom) {
      return L.TileLayer.prototype._setZoomTransform.call(this, level, toGcj(center), zoom);
    },
    _getTiledPixelBounds: function (center) { return L.TileLayer.prototype._getTiledPixelBounds.call(this, toGcj(center)); },
  });
  if (config.tilesUrl) new (config.tilesGcj02 ? GcjTileLayer : L.TileLayer)(config.tilesUrl, { maxZoom: config.maxZoom }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  map.createPane("boundaries").style.zIndex = 450;
  map.getPane("boundaries").style.pointerEvents = "none";
  map.createPane("cases").style.zIndex = 620;
  const gridRenderer = L.svg({ padding: 0.3 });
  const caseRenderer = L.svg({ pane: "cases", padding: 0.3 });
  map.addLayer(gridRenderer);
  (function addHatch() { // "too few cases": an SVG pattern that grid paths use as their fill
    const NS = "http://www.w3.org/2000/svg";
    const make = (tag, attrs) => { const n = document.createElementNS(NS, tag); Object.keys(attrs).forEach((k) => n.setAttribute(k, attrs[k])); return n; };
    const defs = make("defs", {});
    const pattern = make("pattern", { id: "gcc-hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" });
    pattern.append(make("rect", { width: 6, height: 6, fill: "#f3f4f6" }), make("rect", { width: 2, height: 6, fill: "#9ca3af" }));
    defs.append(pattern);
    gridRenderer._container.insertBefore(defs, gridRenderer._container.firstChild);
  })();

  // --- State ------------------------------------------------------------------------------------------
  const state = {
    metric: "closure_rate", period: "this_month",
    filters: { status: "", category: "", overdue: false, supervised: false },
    path: [], metricRows: {}, counts: {}, cases: new Map(), fresh: new Set(), selected: null,
    failing: new Set(), pending: 0,
  };
  const LEVEL_LENGTHS = [6, 9, 12, 15];
  const LEVELS = ["district", "street", "community", "grid"];
  function setState() {
    const value = state.pending ? "loading" : state.failing.size ? "error" : "ready";
    root.dataset.state = value;
    mapEl.dataset.state = value;
  }
  function track(name, promise) {
    state.pending += 1;
    setState();
    return promise.then((value) => { state.failing.delete(name); return value; })
      .catch((error) => { if (error.name !== "AbortError") { state.failing.add(name); C.toast(t("loadFailed"), true); } })
      .finally(() => { state.pending -= 1; setState(); });
  }

  // --- Metric colouring (the scales are the server's: config.scales, drawn in the legend) ------------------
  const RATE_METRICS = { closure_rate: "closed", closure_on_time_rate: "closed_on_time", disposal_rate: "disposed",
    disposal_on_time_rate: "disposed_on_time" }; // rate → its numerator
  const DENOMINATOR = (metric) => (metric.startsWith("closure") ? "due_closure" : "due_disposal");
  const scaled = (scale, n) => scale.find((s) => n >= s.min).colour;
  function gridValue(code) {
    const metric = state.metric, row = state.metricRows[code];
    if (metric === "open" || metric === "overdue") {
      const n = metric === "open" ? (state.counts[code] || {}).open || 0 : row ? row.overdue_open : 0;
      return { colour: scaled(SCALES.count, n), text: String(n) };
    }
    const denominator = row ? row[DENOMINATOR(metric)] : 0;
    if (!denominator) return { colour: SCALES.noData, text: "—" };
    const fraction = " (" + row[RATE_METRICS[metric]] + "/" + denominator + ")";
    if (denominator < 3) return { colour: SCALES.hatch, text: t("fewSamples") + fraction };
    return { colour: scaled(SCALES.rate, row[metric]), text: row[metric].toFixed(1) + "%" + fraction };
  }
  const metricSelect = document.getElementById("gcc-metric");
  const periodSelect = document.getElementById("gcc-period");
  function renderLegend() {
    const rate = !!RATE_METRICS[state.metric];
    document.querySelector("#gcc-legend [data-scale=rate]").hidden = !rate;
    document.querySelector("#gcc-legend [data-scale=count]").hidden = rate;
    document.getElementById("gcc-legend-title").textContent = metricSelect.selectedOptions[0].textContent +
      (state.metric === "open" ? "" : " · " + periodLabel());
  }
  const legendBox = document.getElementById("gcc-legend");
  L.DomEvent.disableClickPropagation(legendBox);
  L.DomEvent.disableScrollPropagation(legendBox);
  function gridStyle(feature) {
    const value = gridValue(feature.properties.code);
    const selected = state.path.length === 4 && state.path[3].code === feature.properties.code;
    return { renderer: gridRenderer, className: "gcc-grid", color: selected ? "#12355b" : "#64748b", weight: selected ? 3 : 0.6,
      fillColor: value.colour, fillOpacity: value.colour === SCALES.hatch ? 0.9 : 0.6 };
  }
  const grids = L.geoJSON(null, {
    style: gridStyle,
    onEachFeature: (feature, layer) => {
      layer.bindTooltip(() => {
        const p = feature.properties, box = el("div");
        box.append(el("strong", null, p.name), el("br"), document.createTextNode(p.code), el("br"),
          document.createTextNode(metricSelect.selectedOptions[0].textContent + ": " + gridValue(p.code).text));
        return box;
      }, { sticky: true });
      layer.on("click", () => drillInto(feature.properties));
    },
  }).addTo(map);
  const boundaries = L.geoJSON(null, { pane: "boundaries", interactive: false,
    style: { color: "#12355b", weight: 2.5, fill: false, opacity: 0.8, dashArray: "6 3" } }).addTo(map);
  const restyleGrids = () => {
    grids.setStyle(gridStyle);
    grids.eachLayer((layer) => layer.getElement() && layer.getElement().setAttribute("data-code", layer.feature.properties.code));
  };
  let gridController = null;
  function loadGrids() {
    if (gridController) gridController.abort();
    const mine = (gridController = new AbortController());
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    return track("grids", getJSON(config.urls.grids + query({ bbox: bbox, zoom: Math.round(map.getZoom()) }), mine.signal)
      .then((data) => { grids.clearLayers(); grids.addData(data); restyleGrids(); }));
  }

  // --- Period, metrics, counts ---------------------------------------------------------------------
  function periodRange() {
    const today = todayISO(), tomorrow = addDays(today, 1);
    const monday = addDays(today, -((new Date(today + "T00:00:00Z").getUTCDay() + 6) % 7));
    if (state.period === "this_week") return [monday, tomorrow];
    if (state.period === "last_week") return [addDays(monday, -7), monday];
    if (state.period === "this_month") return [today.slice(0, 8) + "01", tomorrow];
    const start = document.getElementById("gcc-start").value || monday;
    const last = document.getElementById("gcc-end").value || today;
    return [start, addDays(last < start ? start : last, 1)];
  }
  function periodLabel() { const range = periodRange(); return range[0] + " – " + addDays(range[1], -1); }
  let metricController = null;
  function loadMetrics() {
    if (metricController) metricController.abort();
    const mine = (metricController = new AbortController());
    const range = periodRange();
    return track("metrics", getJSON(config.urls.metrics + query({ level: "grid", start: range[0], end: range[1] }), mine.signal)
      .then((data) => {
        state.metricRows = {};
        (data.results || []).forEach((row) => { state.metricRows[row.code] = row; });
        restyleGrids();
        renderLegend();
      }));
  }
  function areaCode() { return state.path.length ? state.path[state.path.length - 1].code : ""; }
  function loadCounts() {
    return track("counts", getJSON(config.urls.gridCounts + query({ area: areaCode(), category: state.filters.category }))
      .then((data) => { state.counts = data.results || {}; restyleGrids(); }));
  }

  // --- Drill-down -------------------------------------------------------------------------------------------
  const areas = {}; // code → {name, level, bounds, feature}
  function loadAreas() {
    return Promise.all(["district", "street", "community"].map((level) =>
      getJSON(config.urls.areas + query({ level: level, zoom: 12 })).then((data) => {
        data.features.forEach((f) => {
          areas[f.properties.code] = { name: f.properties.name, level: level, feature: f, bounds: L.geoJSON(f).getBounds() };
        });
      }))).catch(() => state.failing.add("areas"));
  }
  function drillInto(gridProps) {
    const depth = Math.min(state.path.length, 3);
    const code = gridProps.code.slice(0, LEVEL_LENGTHS[depth]);
    if (depth === 3) state.path = state.path.slice(0, 3).concat([{ code: gridProps.code, name: gridProps.name, level: "grid" }]);
    else state.path.push({ code: code, name: areas[code] ? areas[code].name : code, level: LEVELS[depth] });
    applyArea(true);
  }
  function applyArea(zoom) {
    const code = areaCode(), here = areas[code];
    boundaries.clearLayers();
    if (here) boundaries.addData(here.feature);
    if (zoom) {
      let bounds = here ? here.bounds : null;
      if (!bounds) grids.eachLayer((layer) => { if (layer.feature.properties.code === code) bounds = layer.getBounds(); });
      if (bounds) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 18 });
      else if (!code && config.extent) map.fitBounds(config.extent, { padding: [16, 16] });
    }
    document.getElementById("gcc-area").value = code;
    renderBreadcrumb();
    restyleGrids();
    C.reloadData();
  }
  function renderBreadcrumb() {
    const nav = document.getElementById("gcc-breadcrumb");
    nav.replaceChildren();
    const crumbs = [{ code: "", name: t("city") }].concat(state.path);
    crumbs.forEach((crumb, i) => {
      if (i) nav.append(el("span", "gcc-sep", "›"));
      if (i === crumbs.length - 1) { nav.append(el("span", "gcc-here", crumb.name)); return; }
      const button = el("button", null, crumb.name);
      button.type = "button";
      button.dataset.code = crumb.code;
      button.addEventListener("click", () => { state.path = state.path.slice(0, i); applyArea(true); });
      nav.append(button);
    });
    nav.append(el("span", "gcc-hint", t("casesShown", { n: state.cases.size }) + " · " + t("drillHint")));
  }

  // --- Cases on the map: loading, clustering, markers ------------------------------------------------------
  function matchesFilters(row) {
    const f = state.filters, code = areaCode();
    if (f.status ? row.status !== f.status : OPEN_STATUSES.indexOf(row.status) < 0) return false;
    if (f.category && row.category && String(row.category.id) !== String(f.category)) return false;
    if (f.overdue && !(row.status === "handling" && row.deadline && new Date(row.deadline) < new Date())) return false;
    if (f.supervised && !row.supervised) return false;
    return !code || !!(row.grid && row.grid.code.startsWith(code));
  }
  let casesGeneration = 0;
  function loadCases() {
    const generation = ++casesGeneration, collected = new Map(), f = state.filters;
    const page = (url, left) => getJSON(url).then((data) => {
      data.results.forEach((row) => collected.set(row.id, row));
      return data.next && left > 1 ? page(data.next, left - 1) : null;
    });
    const params = { status: f.status || OPEN_STATUSES.join(","), area: areaCode(), category: f.category,
      overdue: f.overdue ? "true" : "", supervised: f.supervised ? "true" : "", page_size: 500 };
    if (finishedChosen()) { const range = periodRange(); params.start = range[0]; params.end = range[1]; }
    return track("cases", page(config.urls.cases + query(params), 10).then(() => {
      if (generation !== casesGeneration) return;
      state.cases = collected;
      renderCases();
      renderBreadcrumb();
    }));
  }
  const caseLayer = L.layerGroup().addTo(map);
  const CLUSTER_BELOW_ZOOM = 16; // from this zoom every case is its own marker
  const CELL_PX = 56;
  function caseMarker(row) {
    const chosen = row.id === state.selected;
    const marker = L.circleMarker([row.lat, row.lon], {
      renderer: caseRenderer, radius: chosen ? 10 : 7, color: chosen ? "#12355b" : "#fff", weight: chosen ? 3 : 2,
      fillColor: LIGHT_COLOURS[row.light] || "#64748b", fillOpacity: 1,
      className: "gcc-case gcc-case-" + row.id + " gcc-light-" + row.light + (state.fresh.has(row.id) ? " gcc-new" : ""),
    });
    // A node, not a string: Leaflet renders a string tooltip as HTML (a category name is data).
    marker.bindTooltip(el("span", null, row.number + " · " + (row.category ? row.category.name : "") + " · " + (row.status_display || "")));
    marker.on("click", (event) => { L.DomEvent.stop(event); C.openCase(row.id); });
    return marker;
  }
  function renderCases() {
    caseLayer.clearLayers();
    const rows = Array.from(state.cases.values()).filter((r) => r.lat !== null && r.lon !== null);
    const zoom = map.getZoom();
    if (zoom >= CLUSTER_BELOW_ZOOM) rows.forEach((row) => caseLayer.addLayer(caseMarker(row)));
    else {
      const buckets = new Map(); // one bucket per CELL_PX square at this zoom
      rows.forEach((row) => {
        const p = map.project([row.lat, row.lon], zoom), key = Math.floor(p.x / CELL_PX) + ":" + Math.floor(p.y / CELL_PX);
        if (!buckets.has(key)) buckets.set(key, []);
        buckets.get(key).push(row);
      });
      buckets.forEach((members) => {
        if (members.length === 1) { caseLayer.addLayer(caseMarker(members[0])); return; }
        let worst = "green", lat = 0, lon = 0;
        members.forEach((r) => { if ((LIGHT_RANK[r.light] || 0) > LIGHT_RANK[worst]) worst = r.light; lat += r.lat; lon += r.lon; });
        const size = members.length < 10 ? 28 : members.length < 100 ? 34 : 42;
        const icon = L.divIcon({ className: "", iconSize: [size, size], html: "<div class=\"gcc-cluster gcc-light-" + worst +
          "\" style=\"width:" + size + "px;height:" + size + "px\">" + members.length + "</div>" });
        const bounds = L.latLngBounds(members.map((r) => [r.lat, r.lon]));
        const marker = L.marker([lat / members.length, lon / members.length], { icon: icon, pane: "cases" });
        marker.on("click", () => {
          if (bounds.getNorthEast().equals(bounds.getSouthWest())) map.setView(bounds.getCenter(), CLUSTER_BELOW_ZOOM);
          else map.fitBounds(bounds, { padding: [40, 40], maxZoom: CLUSTER_BELOW_ZOOM });
        });
        caseLayer.addLayer(marker);
      });
    }
    state.fresh.clear();
  }
  function upsertCase(row) { if (matchesFilters(row)) state.cases.set(row.id, row); else state.cases.delete(row.id); }
  function refreshCase(id) {
    return getJSON(config.urls.cases + id).then((row) => { upsertCase(row); renderCases(); }).catch(() => {});
  }

  Object.assign(C, { map: map, toGcj: GCJ.fromWgs84, state: state, OPEN_STATUSES: OPEN_STATUSES, t: t, el: el,
    getJSON: getJSON, query: query, todayISO: todayISO, addDays: addDays, CLUSTER_BELOW_ZOOM: CLUSTER_BELOW_ZOOM,
    setState: setState, renderLegend: renderLegend, renderBreadcrumb: renderBreadcrumb, restyleGrids: restyleGrids,
    renderCases: renderCases, upsertCase: upsertCase, refreshCase: refreshCase, loadAreas: loadAreas,
    loadGrids: loadGrids, loadMetrics: loadMetrics, loadCounts: loadCounts, loadCases: loadCases, periodRange: periodRange,
    finishedChosen: finishedChosen });
})();
