// 日巡查 on the supervision console (docs/patrol.md, docs/domain.md §8): a coverage layer — grids coloured
// patrolled today / not yet / not for N working days — today's lists, the officers of the day and each
// officer's track on demand. Labels and API addresses come from #gcc-patrol-labels (Django's
// translations, frontend/console/patrol.html); the map from console.js (window.gridcaseConsole).
(function () {
  "use strict";

  const C = window.gridcaseConsole;
  const labels = document.getElementById("gcc-patrol-labels");
  if (!C || !C.map || !labels) return;
  const map = C.map;
  const L10N = labels.dataset;
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const COLOURS = { done: "#16a34a", todo: "#f59e0b", stale: "#dc2626", none: "#cbd5e1" };
  const LIST_LIMIT = 200;
  const REFRESH_MS = 120000;

  function t(key, values) {
    let text = L10N[key] || key;
    Object.keys(values || {}).forEach((k) => { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = content;
    return node;
  }

  function getJSON(url, params) {
    const query = new URLSearchParams(params || {}).toString();
    return fetch(url + (query ? "?" + query : ""), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());

  // --- state -----------------------------------------------------------------------------------------
  const state = { on: false, day: today(), status: {}, staleDays: 3, today: [], stale: [], officers: [], city: null,
    shapes: {}, timer: null, track: null };

  // --- the layer ---------------------------------------------------------------------------------------
  map.createPane("patrol").style.zIndex = 450;
  map.createPane("patrolTrack").style.zIndex = 460;
  const layer = L.geoJSON(null, {
    pane: "patrol",
    style: (feature) => {
      const status = state.status[feature.properties.code] || "none";
      return { className: "gcc-patrol-grid gcc-patrol-" + status, color: "#475569", weight: 0.6,
        fillColor: COLOURS[status], fillOpacity: status === "none" ? 0.25 : 0.65 };
    },
    onEachFeature: (feature, shape) => {
      state.shapes[feature.properties.code] = shape;
      shape.bindTooltip(() => {
        const p = feature.properties;
        const status = state.status[p.code] || "none";
        const row = state.today.find((r) => r.code === p.code);
        const box = el("div");
        box.append(el("strong", null, p.name), el("br"), document.createTextNode(p.code), el("br"),
          document.createTextNode(statusLabel(status) + (row ? " · " + t("days", { n: row.days }) : "")));
        return box;
      }, { sticky: true });
    },
  });
  const trackLayer = L.layerGroup();

  function statusLabel(status) {
    return { done: t("patrolled"), todo: t("notYet"), stale: t("stale", { n: state.staleDays }),
      none: t("unassigned") }[status];
  }

  function restyle() {
    layer.setStyle(layer.options.style);
    layer.eachLayer((shape) => {
      const node = shape.getElement && shape.getElement();
      if (node) node.setAttribute("data-patrol", state.status[shape.feature.properties.code] || "none");
    });
  }

  let shapesController = null;
  function loadShapes() {
    if (shapesController) shapesController.abort();
    const mine = (shapesController = new AbortController());
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    const query = new URLSearchParams({ bbox: bbox, zoom: Math.round(map.getZoom()) }).toString();
    return fetch(config.urls.grids + "?" + query, { credentials: "same-origin", signal: mine.signal })
      .then((r) => r.json())
      .then((data) => {
        state.shapes = {};
        layer.clearLayers();
        layer.addData(data);
        restyle();
      })
      .catch(() => {});
  }

  // --- data --------------------------------------------------------------------------------------------
  function loadData() {
    state.day = today();
    const day = { day: state.day };
    return Promise.all([
      getJSON(L10N.urlCoverage, Object.assign({ level: "grid" }, day)),
      getJSON(L10N.urlUnpatrolled, day),
      getJSON(L10N.urlUnpatrolled, Object.assign({ days: "" }, day)),
      getJSON(L10N.urlCoverage, Object.assign({ level: "officer" }, day)),
      getJSON(L10N.urlCoverage, Object.assign({ level: "city" }, day)),
    ]).then(([grids, notToday, stale, officers, city]) => {
      const status = {};
      grids.results.forEach((r) => { if (r.assigned) status[r.code] = r.patrolled ? "done" : "todo"; });
      state.staleDays = stale.days;
      stale.results.forEach((r) => { status[r.code] = "stale"; });
      state.status = status;
      state.today = notToday.results;
      state.stale = stale.results;
      // The officers with the lowest coverage first: whom to call.
      state.officers = officers.results.slice().sort((a, b) => (a.coverage === null ? 2 : a.coverage) -
        (b.coverage === null ? 2 : b.coverage) || a.username.localeCompare(b.username));
      state.city = city.results[0] || null;
      panel.dataset.state = "ready";
      restyle();
      render();
    }).catch(() => {
      panel.dataset.state = "failed";
      message.textContent = t("failed");
    });
  }

  // --- the panel ------------------------------------------------------------------------------------------
  const wrap = document.querySelector(".gcc-map-wrap") || map.getContainer().parentNode;
  const button = el("button", "gcc-patrol-toggle", t("toggle"));
  button.type = "button";
  button.id = "gcc-patrol-toggle";
  button.setAttribute("aria-pressed", "false");
  const panel = el("section", "gcc-patrol");
  panel.id = "gcc-patrol";
  panel.hidden = true;
  panel.dataset.state = "loading";
  const message = el("p", "gcc-patrol-message");
  wrap.append(button, panel);
  L.DomEvent.disableClickPropagation(panel);
  L.DomEvent.disableScrollPropagation(panel);

  function swatch(status) {
    const li = el("li");
    li.dataset.status = status;
    const box = el("span", "gcc-patrol-sw");
    box.style.background = COLOURS[status];
    li.append(box, document.createTextNode(" " + statusLabel(status)));
    return li;
  }

  function gridList(id, title, rows) {
    const details = el("details", "gcc-patrol-list");
    details.id = id;
    details.open = true;
    const summary = el("summary", null, title + " (" + rows.length + ")");
    details.append(summary);
    const ul = el("ul");
    rows.slice(0, LIST_LIMIT).forEach((r) => {
      const li = el("li");
      li.dataset.code = r.code;
      const name = el("button", "gcc-patrol-grid-name", r.name + " " + r.code);
      name.type = "button";
      name.addEventListener("click", () => focusGrid(r.code));
      const who = r.officers.map((o) => o.name).join("、");
      const when = r.last_patrolled ? t("last", { day: r.last_patrolled }) : t("never");
      li.append(name, el("span", "gcc-patrol-sub",
        [r.community.name, who, t("days", { n: r.days }), when].filter(Boolean).join(" · ")));
      ul.append(li);
    });
    if (!rows.length) ul.append(el("li", "gcc-patrol-sub", t("none")));
    if (rows.length > LIST_LIMIT) ul.append(el("li", "gcc-patrol-sub", t("more", { n: rows.length - LIST_LIMIT })));
    details.append(ul);
    return details;
  }

  function officerList() {
    const details = el("details", "gcc-patrol-list");
    details.id = "gcc-patrol-officers";
    details.open = true;
    details.append(el("summary", null, t("officers") + " (" + state.officers.length + ")"));
    const ul = el("ul");
    state.officers.slice(0, LIST_LIMIT).forEach((o) => {
      const li = el("li");
      li.dataset.officer = o.id;
      const show = el("button", "gcc-patrol-track-button", t("track"));
      show.type = "button";
      show.addEventListener("click", () => showTrack(o));
      li.append(el("strong", null, o.name), document.createTextNode(" "), show,
        el("span", "gcc-patrol-sub", t("grids", { patrolled: o.patrolled, assigned: o.assigned }) + " · " +
          t("duty", { minutes: o.on_duty_minutes, km: o.distance_km })));
      ul.append(li);
    });
    details.append(ul);
    return details;
  }

  function render() {
    panel.replaceChildren();
    const head = el("div", "gcc-patrol-head");
    head.append(el("h3", null, t("title") + " · " + state.day));
    const city = state.city;
    const rate = city && city.coverage !== null ? Math.round(city.coverage * 100) + "%" : "—";
    const summary = el("p", "gcc-patrol-summary", t("summary", {
      patrolled: city ? city.patrolled : 0, assigned: city ? city.assigned : 0, rate: rate }));
    summary.id = "gcc-patrol-summary";
    const legend = el("ul", "gcc-patrol-legend");
    ["done", "todo", "stale", "none"].forEach((s) => legend.append(swatch(s)));
    panel.append(head, summary, legend, message);
    if (state.track) panel.append(trackBox());
    panel.append(gridList("gcc-patrol-stale", t("listStale", { n: state.staleDays }), state.stale),
      gridList("gcc-patrol-today", t("listToday"), state.today), officerList());
  }

  function focusGrid(code) {
    const shape = state.shapes[code];
    if (shape) {
      map.fitBounds(shape.getBounds(), { maxZoom: 17, padding: [40, 40] });
      shape.openTooltip();
    }
  }

  // --- tracks -------------------------------------------------------------------------------------------
  function showTrack(officer) {
    getJSON(L10N.urlTrack, { officer: String(officer.id), day: state.day }).then((track) => {
      trackLayer.clearLayers();
      const counted = track.points.filter((p) => p.counted).map((p) => [p.lat, p.lon]);
      if (counted.length) {
        L.polyline(counted, { pane: "patrolTrack", color: "#1d4ed8", weight: 3, className: "gcc-patrol-line" })
          .addTo(trackLayer);
      }
      track.points.filter((p) => !p.counted).forEach((p) => {
        L.circleMarker([p.lat, p.lon], { pane: "patrolTrack", radius: 3, color: "#6b7280",
          className: "gcc-patrol-refused" }).addTo(trackLayer);
      });
      trackLayer.addTo(map);
      state.track = track;
      if (track.points.length) map.fitBounds(L.latLngBounds(track.points.map((p) => [p.lat, p.lon])), { maxZoom: 17 });
      render();
      panel.scrollTop = 0;
    }).catch(() => { message.textContent = t("failed"); });
  }

  function trackBox() {
    const tr = state.track;
    const box = el("div", "gcc-patrol-track");
    box.id = "gcc-patrol-track";
    box.append(el("span", null, tr.points.length ? t("trackSummary", { name: tr.officer.name, points: tr.points_stored,
      counted: tr.points_counted, minutes: tr.on_duty_minutes, km: tr.distance_km }) : tr.officer.name + ": " + t("noPoints")));
    const hide = el("button", "gcc-patrol-track-button", t("clearTrack"));
    hide.type = "button";
    hide.addEventListener("click", () => { trackLayer.clearLayers(); state.track = null; render(); });
    box.append(document.createTextNode(" "), hide);
    return box;
  }

  // --- on / off ------------------------------------------------------------------------------------------
  function setOn(on) {
    state.on = on;
    button.setAttribute("aria-pressed", String(on));
    panel.hidden = !on;
    if (on) {
      layer.addTo(map);
      loadShapes();
      loadData();
      state.timer = setInterval(loadData, REFRESH_MS);
    } else {
      map.removeLayer(layer);
      map.removeLayer(trackLayer);
      trackLayer.clearLayers();
      state.track = null;
      clearInterval(state.timer);
    }
  }

  button.addEventListener("click", () => setOn(!state.on));
  map.on("moveend", () => { if (state.on) loadShapes(); });
  window.gridcasePatrol = { state: state, setOn: setOn, reload: loadData };
})();
