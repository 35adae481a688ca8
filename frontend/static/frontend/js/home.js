// Home page: the city's streets, communities and unit grids; a click finds the grid at that point.
// Data: #map-config (json_script from frontend.views), the GeoJSON layer API and /api/grids/locate.
// The map is built with plain L.map (not django-leaflet's leaflet_map tag) so that nothing but the
// configured tile server, if any, is ever contacted.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("map-config").textContent);
  const text = config.strings;
  const mapEl = document.getElementById("map");
  const narrow = window.matchMedia("(max-width: 600px)").matches;
  // Keep in step with the --gc-* colours in gridcase.css (the legend uses those).
  const COLOURS = { street: "#7c2d12", community: "#1d4ed8", 1: "#16a34a", 2: "#ca8a04", 3: "#9333ea" };

  let pending = 0;
  const failing = new Set(); // layers whose last request failed

  // An element with text content: names come from the database, so never build HTML strings.
  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  const errorBox = el("div", "gc-map-error", text.loadFailed);
  errorBox.hidden = true;

  // The test suite and people waiting on slow networks both read this: loading, ready or error.
  function setState() {
    mapEl.dataset.state = pending ? "loading" : failing.size ? "error" : "ready";
    errorBox.hidden = !failing.size || pending > 0;
  }

  const map = L.map(mapEl, { minZoom: config.minZoom, maxZoom: config.maxZoom });
  if (config.extent) {
    map.fitBounds(config.extent, { padding: [24, 24], maxZoom: 18 });
  } else {
    map.setView(config.center, config.zoom);
  }
  const baseLayers = {};
  if (config.tilesUrl) {
    const tiles = L.tileLayer(config.tilesUrl, { maxZoom: config.maxZoom, attribution: "" });
    baseLayers[text.baseMap] = tiles.addTo(map);
  }
  // Boundaries sit above the grids but let clicks and hovers through to them.
  map.createPane("boundaries").style.zIndex = 450;

  const grids = L.geoJSON(null, { style: gridStyle, onEachFeature: bindGridLabel }).addTo(map);
  const streets = L.geoJSON(null, boundaryStyle(COLOURS.street, 3, "6 4")).addTo(map);
  const communities = L.geoJSON(null, boundaryStyle(COLOURS.community, 1.5)).addTo(map);

  function gridStyle(feature) {
    const regionClass = feature.properties.region_class || 1;
    const colour = COLOURS[regionClass] || COLOURS[1];
    return {
      className: "gc-grid gc-region-" + regionClass,
      color: colour,
      weight: 1,
      fillColor: colour,
      fillOpacity: 0.18,
    };
  }

  function boundaryStyle(colour, weight, dashArray) {
    return {
      pane: "boundaries",
      interactive: false,
      style: { color: colour, weight: weight, dashArray: dashArray, fill: false, opacity: 0.9 },
    };
  }

  // Layers are rebuilt after every move, so the label mode follows the zoom at that time.
  function bindGridLabel(feature, layer) {
    const props = feature.properties;
    if (map.getZoom() >= config.labelMinZoom) {
      layer.bindTooltip(el("span", null, props.code), {
        permanent: true,
        direction: "center",
        className: "gc-grid-label",
      });
    } else {
      const label = el("div", null);
      label.append(el("strong", null, props.code), el("br"), document.createTextNode(props.name));
      layer.bindTooltip(label, { sticky: true });
    }
  }

  // --- Loading the layers for the current view ---------------------------------------------
  function viewQuery() {
    const b = map.getBounds();
    const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v)).toFixed(6);
    const bbox = [
      clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90),
    ].join(",");
    return "bbox=" + bbox + "&zoom=" + Math.round(map.getZoom());
  }

  // A newer request for the same layer aborts the older one, so a slow answer never wins.
  function remote(layer, url) {
    let controller = null;
    return function refresh() {
      if (!map.hasLayer(layer)) return;
      if (controller) controller.abort();
      const mine = (controller = new AbortController());
      const sep = url.includes("?") ? "&" : "?";
      pending += 1;
      setState();
      fetch(url + sep + viewQuery(), { signal: mine.signal, credentials: "same-origin" })
        .then((response) => {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then((data) => {
          layer.clearLayers();
          layer.addData(data);
          failing.delete(layer);
        })
        .catch((error) => {
          if (error.name !== "AbortError") failing.add(layer);
        })
        .finally(() => {
          if (controller === mine) controller = null;
          pending -= 1;
          setState();
        });
    };
  }

  const refreshers = new Map([
    [grids, remote(grids, config.urls.grids)],
    [streets, remote(streets, config.urls.areas + "?level=street")],
    [communities, remote(communities, config.urls.areas + "?level=community")],
  ]);
  const refreshAll = () => refreshers.forEach((refresh) => refresh());
  map.on("moveend", refreshAll);
  map.on("overlayadd", (event) => refreshers.has(event.layer) && refreshers.get(event.layer)());

  // --- Controls ------------------------------------------------------------------------------
  const overlays = {};
  overlays[text.streets] = streets;
  overlays[text.communities] = communities;
  overlays[text.grids] = grids;
  L.control.layers(baseLayers, overlays, { collapsed: narrow }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  function domControl(node, position) {
    const control = L.control({ position: position });
    control.onAdd = () => {
      L.DomEvent.disableClickPropagation(node);
      L.DomEvent.disableScrollPropagation(node);
      return node;
    };
    return control.addTo(map);
  }

  const legend = document.getElementById("map-legend");
  if (narrow) legend.open = false; // the legend would cover a third of a phone's map
  domControl(legend, "bottomleft");
  domControl(errorBox, "topright");

  // --- Click: which grid is here? -------------------------------------------------------------
  function locatePopupContent(body) {
    const box = el("div", "gc-popup");
    if (!body.grid) {
      box.append(el("h3", "gc-warn", text.outsideGrid), el("p", "gc-muted", text.outsideGridHint));
      return box;
    }
    const grid = body.grid;
    const community = grid.community.name + " (" + grid.community.code + ")";
    box.append(el("h3", null, grid.code), el("p", null, grid.name));
    box.append(el("p", "gc-muted", text.community.replace("%(name)s", community)));
    if (body.snapped) {
      const metres = String(Math.round(body.distance_m));
      box.append(el("p", "gc-warn", text.snapped.replace("%(distance)s", metres)));
    }
    return box;
  }

  map.on("click", (event) => {
    const point = event.latlng.wrap();
    const popup = L.popup().setLatLng(event.latlng).setContent(text.locating).openOn(map);
    const query = "?lon=" + point.lng.toFixed(7) + "&lat=" + point.lat.toFixed(7);
    fetch(config.urls.locate + query, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((body) => popup.setContent(locatePopupContent(body)))
      .catch(() => popup.setContent(el("span", "gc-warn", text.locateFailed)));
  });

  setState();
  refreshAll();
})();
