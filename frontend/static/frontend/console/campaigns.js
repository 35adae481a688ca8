// The console's campaigns (docs/domain.md §12, docs/campaigns.md): the 违建台账 ledger as a map layer (entries
// coloured by status, new ones ringed) and this year's construction and dumping figures per street.
// Labels: #gcc-campaign-labels (Django's translations, rendered into the page). Data: the JSON API.
// The map comes from console.js (window.gridcaseConsole.map). Plain script, no build step.
(function () {
  "use strict";

  const box = document.getElementById("gcc-campaigns");
  const labels = document.getElementById("gcc-campaign-labels");
  if (!box || !labels || !window.L) return;
  const T = {};
  labels.content.querySelectorAll("[data-k]").forEach((node) => { T[node.dataset.k] = node.textContent.trim(); });
  const t = (key) => (T[key] !== undefined ? T[key] : key);
  const STATUS_COLOURS = {
    open: "#dc2626", partly_demolished: "#f97316", demolished: "#16a34a", rectified: "#2563eb",
    legalised: "#7c3aed", confiscated: "#475569",
  };
  const body = document.getElementById("gcc-campaign-body");
  const toggle = document.getElementById("gcc-ledger-toggle");
  let layer = null;
  let loaded = false;

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = content;
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    });
  }

  const number = (value, digits) => (value === null || value === undefined ? "—"
    : Number(value).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 1 : digits }));

  // --- figures beside the map ---------------------------------------------------------------------
  function progressBar(row, elapsed) {
    const wrap = el("div", "gcc-cp-progress");
    if (row.target_m2 === null) { wrap.textContent = "—"; return wrap; }
    const bar = el("div", "gcc-cp-bar");
    const fill = el("span", "gcc-cp-fill");
    fill.style.width = Math.min(100, (row.progress || 0) * 100).toFixed(1) + "%";
    if ((row.progress || 0) < elapsed) fill.classList.add("gcc-cp-behind");
    const mark = el("span", "gcc-cp-mark");
    mark.style.left = (elapsed * 100).toFixed(1) + "%";
    mark.title = t("elapsed") + " " + Math.round(elapsed * 100) + "%";
    bar.append(fill, mark);
    wrap.append(bar, el("small", null, Math.round((row.progress || 0) * 100) + "% / " + number(row.target_m2, 0) + " " + t("m2")));
    return wrap;
  }

  function constructionTable(data) {
    const section = el("section", "gcc-cp-section");
    section.append(el("h3", null, t("construction")));
    const table = el("table", "gcc-cp-table");
    const head = el("tr");
    [t("street"), t("new"), t("existing"), t("demolished"), t("open"), t("target")].forEach((h) => head.append(el("th", null, h)));
    table.append(head);
    data.results.forEach((row) => {
      const tr = el("tr");
      tr.dataset.code = row.code;
      const name = el("td", "gcc-cp-name", row.name);
      const badge = el("span", row.zero_growth ? "gcc-cp-zero" : "gcc-cp-growth", row.zero_growth ? "0" : "+" + row.new_count);
      badge.title = row.zero_growth ? t("zero") : t("growth");
      name.prepend(badge, " ");
      tr.append(name,
        el("td", null, row.new_count + " · " + number(row.new_area_m2) + t("m2")),
        el("td", null, row.existing_count + " · " + number(row.existing_area_m2) + t("m2")),
        el("td", null, row.demolished_count + " · " + number(row.demolished_area_m2) + t("m2")),
        el("td", null, String(row.open_count)));
      const target = el("td");
      target.append(progressBar(row, data.year_elapsed || 0));
      tr.append(target);
      table.append(tr);
    });
    section.append(table);
    return section;
  }

  function dumpingSummary(data) {
    const section = el("section", "gcc-cp-section");
    section.append(el("h3", null, t("dumping")));
    const row = data.results[0] || {};
    const list = el("dl", "gcc-cp-facts");
    [[t("cases"), number(row.count, 0) + " · " + number(row.volume_m3) + t("m3")],
      [t("night") + " (" + data.night.start + "–" + data.night.end + ")", number(row.night_count, 0) + " · " + number(row.night_volume_m3) + t("m3")],
      [t("response"), number(row.median_response_minutes) + " / " + t("night") + " " + number(row.night_median_response_minutes)]]
      .forEach(([k, v]) => { list.append(el("dt", null, k), el("dd", null, v)); });
    section.append(list);
    return section;
  }

  function loadFigures() {
    return Promise.all([
      getJSON(box.dataset.construction + "?level=street"),
      getJSON(box.dataset.dumping + "?level=city"),
    ]).then(([construction, dumping]) => {
      body.replaceChildren(constructionTable(construction), dumpingSummary(dumping));
      box.dataset.state = "ready";
    }).catch(() => {
      body.replaceChildren(el("p", "gcc-cp-error", t("failed")));
      box.dataset.state = "error";
    });
  }

  // --- the ledger layer -----------------------------------------------------------------------------
  function popup(entry) {
    const div = el("div", "gcc-cp-popup");
    div.append(el("strong", null, t("entry") + " " + entry.number));
    div.append(el("div", null, number(entry.area_m2) + t("m2") + (entry.demolished_m2 ? " (" + t("demolished") + " " + number(entry.demolished_m2) + t("m2") + ")" : "")));
    div.append(el("div", null, t("kind_" + entry.kind) + " · " + t("s_" + entry.status)));
    if (entry.address) div.append(el("div", null, entry.address));
    if (entry.case) div.append(el("div", null, t("case") + " " + entry.case.number));
    return div;
  }

  function drawLedger(map) {
    if (layer) { layer.addTo(map); return Promise.resolve(); }
    layer = L.layerGroup().addTo(map);
    return getJSON(box.dataset.entries + "?limit=5000").then((data) => {
      data.results.forEach((entry) => {
        if (entry.lon === null || entry.lat === null) return;
        const isNew = entry.kind === "new";
        const marker = L.circleMarker([entry.lat, entry.lon], {
          radius: isNew ? 8 : 5, weight: isNew ? 3 : 1, color: isNew ? "#111827" : "#ffffff",
          fillColor: STATUS_COLOURS[entry.status] || "#6b7280", fillOpacity: 0.85,
          className: "gcc-ledger gcc-ledger-" + entry.status + (isNew ? " gcc-ledger-new" : ""),
        });
        marker.bindPopup(() => popup(entry));
        layer.addLayer(marker);
      });
      legend(data.truncated);
      box.dataset.ledger = String(data.results.length);
    });
  }

  function legend(truncated) {
    const list = el("ul", "gcc-cp-legend");
    Object.keys(STATUS_COLOURS).forEach((status) => {
      const item = el("li");
      const dot = el("span", "gcc-dot");
      dot.style.background = STATUS_COLOURS[status];
      item.append(dot, " " + t("s_" + status));
      list.append(item);
    });
    const ring = el("li");
    ring.append(el("span", "gcc-dot gcc-cp-ring"), " " + t("kind_new"));
    list.append(ring);
    if (truncated) list.append(el("li", "gcc-cp-note", t("truncated")));
    const old = box.querySelector(".gcc-cp-legend");
    if (old) old.replaceWith(list); else toggle.parentElement.after(list);
  }

  function start(map) {
    box.addEventListener("toggle", () => { if (box.open && !loaded) { loaded = true; loadFigures(); } });
    toggle.addEventListener("change", () => {
      if (toggle.checked) drawLedger(map);
      else if (layer) map.removeLayer(layer);
    });
  }

  const ready = window.gridcaseConsole && window.gridcaseConsole.map;
  if (ready) start(ready);
})();
