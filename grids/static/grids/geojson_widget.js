// Map editor for GeoJSON text fields (grids/widgets.py GeoJSONMapWidget).
// The textarea is what the form submits: the map draws it, and every draw, edit or delete writes
// it back, as a Polygon (one shape) or MultiPolygon (several) in longitude/latitude.
(function () {
  "use strict";

  const PRECISION = 7; // decimals of a degree (about 1 cm), as grids.geo.to_geojson stores them
  const SHAPE = { color: "#c2410c", weight: 2, fillOpacity: 0.2 };
  const NEIGHBOUR = { color: "#52606d", weight: 1, dashArray: "3 3", fillOpacity: 0.04 };

  // Polygon coordinate arrays in `text`; [] when empty, null when it is not a (Multi)Polygon.
  function polygonsOf(text) {
    if (!text.trim()) return [];
    let geometry;
    try {
      geometry = JSON.parse(text);
    } catch (error) {
      return null;
    }
    if (geometry && geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry && geometry.type === "MultiPolygon") return geometry.coordinates;
    return null;
  }

  function geometryText(polygons) {
    if (polygons.length === 0) return "";
    const geometry =
      polygons.length === 1
        ? { type: "Polygon", coordinates: polygons[0] }
        : { type: "MultiPolygon", coordinates: polygons };
    return JSON.stringify(geometry);
  }

  function drawControl(featureGroup) {
    return new L.Control.Draw({
      draw: {
        polygon: { allowIntersection: false, showArea: false, shapeOptions: SHAPE },
        rectangle: { showArea: false, shapeOptions: SHAPE },
        polyline: false,
        circle: false,
        circlemarker: false,
        marker: false,
      },
      edit: { featureGroup: featureGroup },
    });
  }

  // Other grids in view, for orientation when there is no tile server.
  function neighboursLoader(map, layer, url) {
    let latest = 0;
    return function load() {
      const b = map.getBounds();
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(6))
        .join(",");
      const mine = ++latest;
      fetch(url + "?bbox=" + bbox + "&zoom=" + Math.round(map.getZoom()), { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => {
          if (!data || mine !== latest) return;
          layer.clearLayers();
          layer.addData(data);
        })
        .catch(() => {}); // orientation only: the editor works without it
    };
  }

  function setUp(root) {
    const textarea = document.getElementById(root.dataset.textarea);
    const options = JSON.parse(root.dataset.options);
    const message = root.querySelector(".geojson-map-message");
    const canvas = root.querySelector(".geojson-map-canvas");
    const map = L.map(canvas, { maxZoom: options.maxZoom });
    map.setView(options.center, options.zoom);
    // The admin's layout (its collapsible sidebar, wide fieldsets) changes the width after Leaflet
    // measured it, which leaves part of the map undrawn; re-measure whenever it changes.
    new ResizeObserver(() => map.invalidateSize()).observe(canvas);
    if (options.tilesUrl) {
      L.tileLayer(options.tilesUrl, { maxZoom: options.maxZoom, attribution: "" }).addTo(map);
    }
    const neighbours = L.geoJSON(null, { interactive: false, style: NEIGHBOUR }).addTo(map);
    const shapes = new L.FeatureGroup().addTo(map);
    map.addControl(drawControl(shapes));

    function readText() {
      const polygons = polygonsOf(textarea.value);
      shapes.clearLayers();
      message.textContent = polygons === null ? options.strings.invalid : "";
      message.hidden = polygons !== null;
      (polygons || []).forEach((rings) => {
        shapes.addLayer(L.polygon(L.GeoJSON.coordsToLatLngs(rings, 1), SHAPE));
      });
      if (shapes.getLayers().length) {
        map.fitBounds(shapes.getBounds(), { padding: [30, 30], maxZoom: 18 });
      }
    }

    function writeText() {
      const polygons = shapes.getLayers().flatMap((layer) => {
        const geometry = layer.toGeoJSON(PRECISION).geometry;
        return geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
      });
      textarea.value = geometryText(polygons);
      message.hidden = true;
    }

    map.on(L.Draw.Event.CREATED, (event) => {
      shapes.addLayer(event.layer);
      writeText();
    });
    map.on(L.Draw.Event.EDITED + " " + L.Draw.Event.DELETED, writeText);
    textarea.addEventListener("change", readText);
    map.on("moveend", neighboursLoader(map, neighbours, options.gridsUrl));
    readText();
    map.fire("moveend"); // first load of the neighbours, whichever branch set the view
  }

  function setUpAll() {
    document.querySelectorAll("[data-geojson-widget]").forEach((root) => {
      if (!root.dataset.ready) {
        root.dataset.ready = "1";
        setUp(root);
      }
    });
  }

  // After "load", so the first fit uses the final layout rather than a half-styled page.
  if (document.readyState === "complete") {
    setUpAll();
  } else {
    window.addEventListener("load", setUpAll);
  }
})();
