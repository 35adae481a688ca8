// 上报: position (GPS with its accuracy, a draggable pin), the grid live, a category picker
// (recent and frequent first, search), photos compressed on the phone, the category's attributes
// from its JSON Schema, possible duplicates before sending. The report goes to the outbox first
// (IndexedDB, with its client_uuid and Idempotency-Key), then to the server.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, urls = UI.urls, config = UI.config, t = UI.t;
  const USAGE_KEY = "gc.categories.usage";
  // An attribute's choice in words: the schema's x-enumNames, else the catalogue's word for the
  // value (context "attribute value": permanent, temporary, steel_shed…, docs/domain.md §12).
  function enumLabel(prop, value, index) {
    const names = prop["x-enumNames"] || prop.enumNames;
    if (names && names[index]) return String(names[index]);
    return window.pgettext("attribute value", String(value));
  }

  const state = { pos: null, manual: false, category: null, categories: [], grid: null };

  // --- the map ---------------------------------------------------------------------------------
  const map = L.map("report-map", { attributionControl: false, zoomControl: true, maxZoom: 19 });
  if (config.tilesUrl) L.tileLayer(config.tilesUrl, { maxZoom: 19 }).addTo(map);
  if (config.extent) map.fitBounds(config.extent); else map.setView(config.center, 14);
  const gridLayer = L.geoJSON(null, {
    style: function (f) {
      const current = state.grid && f.properties.code === state.grid.code;
      return { color: current ? "#0b4f9c" : "#5b6b7a", weight: current ? 3 : 1, fillOpacity: current ? 0.12 : 0 };
    },
  }).addTo(map);
  const pinIcon = L.divIcon({ className: "m-pin-wrap", html: '<div class="m-pin"></div>', iconSize: [0, 0] });
  let pin = null, circle = null, gridsLoadedFor = null;

  function placePin(lat, lon, accuracy) {
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true, icon: pinIcon, keyboard: true, title: t("The problem's location (drag it)") }).addTo(map);
      pin.on("dragend", function () {
        const p = pin.getLatLng();
        state.manual = true;
        state.pos = { lon: p.lng, lat: p.lat, accuracy: null };
        $("pos-reset").hidden = false;
        showAccuracy();
        positionChanged();
      });
      map.setView([lat, lon], 18);
    } else {
      pin.setLatLng([lat, lon]);
    }
    if (accuracy) {
      if (!circle) circle = L.circle([lat, lon], { radius: accuracy, weight: 1, color: "#1d70d6", fillOpacity: 0.1, interactive: false }).addTo(map);
      else circle.setLatLng([lat, lon]).setRadius(accuracy);
    }
  }

  function showAccuracy(error) {
    const status = $("pos-status");
    if (state.manual) {
      status.dataset.state = "good";
      status.textContent = t("Location set by hand: %(lat)s, %(lon)s", { lat: state.pos.lat.toFixed(6), lon: state.pos.lon.toFixed(6) });
    } else if (state.pos) {
      const a = Math.round(state.pos.accuracy);
      status.dataset.state = a <= 20 ? "good" : a <= 100 ? "poor" : "error";
      status.textContent = t("Accuracy ±%(n)s m", { n: a }) + (a > 30 ? t(": check it and drag the pin to correct it") : "");
    } else if (error) {
      status.dataset.state = "error";
      status.textContent = UI.positionProblem(error) + t(". You can also drag the pin on the map.");
    }
  }

  function onPosition(position, error) {
    if (error && !state.pos) {
      showAccuracy(error);
      if (error.code === 1 && !pin) placePin(map.getCenter().lat, map.getCenter().lng); // drag it
      return;
    }
    if (!position) return;
    const c = position.coords;
    if (!state.manual) {
      state.pos = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy };
      placePin(c.latitude, c.longitude, c.accuracy);
      positionChanged();
    }
    showAccuracy();
  }
  UI.watchPosition(onPosition);

  $("pos-reset").addEventListener("click", function () {
    state.manual = false;
    $("pos-reset").hidden = true;
    if (UI.lastPosition()) onPosition(UI.lastPosition(), null);
  });

  // --- the grid, live ------------------------------------------------------------------------------
  let locateTimer = null, locateSeq = 0;
  function positionChanged() {
    clearTimeout(locateTimer);
    locateTimer = setTimeout(function () { locate(); loadGrids(); checkDuplicates(); }, 350);
  }

  async function locate() {
    if (!state.pos) return;
    const seq = ++locateSeq;
    const line = $("pos-grid");
    try {
      const response = await GC.fetchWithTimeout(urls.locate + "?lon=" + state.pos.lon + "&lat=" + state.pos.lat, {}, 10000);
      const body = await response.json();
      if (seq !== locateSeq) return;
      state.grid = body.grid;
      if (!body.grid) {
        line.textContent = t("Grid: in no grid (the acceptor decides after you submit)");
      } else {
        line.textContent = t("Grid: %(name)s (%(code)s) · %(community)s", { name: body.grid.name, code: body.grid.code, community: body.grid.community.name }) +
          (body.snapped ? " · " + t("%(n)s m from the grid", { n: Math.round(body.distance_m) }) : "");
      }
      line.dataset.code = body.grid ? body.grid.code : "";
      gridLayer.setStyle(gridLayer.options.style);
    } catch (e) {
      if (seq === locateSeq) line.textContent = t("Grid: offline, the server decides after you submit");
    }
  }

  async function loadGrids() {
    if (!state.pos) return;
    const key = state.pos.lon.toFixed(3) + "," + state.pos.lat.toFixed(3);
    if (gridsLoadedFor === key) return;
    const d = 0.006;
    const bbox = [state.pos.lon - d, state.pos.lat - d, state.pos.lon + d, state.pos.lat + d].map(function (v) { return v.toFixed(5); });
    try {
      const response = await GC.fetchWithTimeout(urls.grids + "?zoom=17&bbox=" + bbox.join(","), {}, 15000);
      if (!response.ok) return;
      const data = await response.json();
      gridLayer.clearLayers();
      gridLayer.addData(data);
      gridsLoadedFor = key;
    } catch (e) { /* offline: the pin alone */ }
  }

  // --- categories: recent and frequent first, search -----------------------------------------------
  function usage() {
    try { return JSON.parse(localStorage.getItem(USAGE_KEY) || "{}"); } catch (e) { return {}; }
  }
  function noteUsage(id) {
    const all = usage();
    const row = all[id] || { count: 0, last: 0 };
    row.count += 1;
    row.last = Date.now();
    all[id] = row;
    localStorage.setItem(USAGE_KEY, JSON.stringify(all));
  }

  async function loadCategories() {
    try {
      const answer = await GC.getJson(urls.categories);
      state.categories = answer.data;
    } catch (e) {
      state.categories = [];
    }
    renderCategoryLists("");
  }

  function option(c) {
    const button = el("button", "m-option");
    button.type = "button";
    button.dataset.id = String(c.id);
    button.append(el("span", null, c.name), el("small", null, c.code + " · " + (c.kind === "component" ? t("Component") : t("Event")) + " · " + c.big_class.name));
    button.addEventListener("click", function () { choose(c); });
    return button;
  }

  function section(title, rows, box) {
    if (!rows.length) return;
    box.append(el("h3", null, title));
    rows.forEach(function (c) { box.append(option(c)); });
  }

  function renderCategoryLists(query, serverRows) {
    const box = $("category-lists");
    box.replaceChildren();
    const all = state.categories;
    if (!all.length && !serverRows) {
      box.append(el("p", "m-muted", t("The category list is not downloaded yet: open it again when online.")));
      return;
    }
    const q = query.trim().toLowerCase();
    if (q) {
      const local = all.filter(function (c) {
        return c.name.toLowerCase().includes(q) || c.code.startsWith(q) || c.big_class.name.toLowerCase().includes(q) ||
          (c.keywords || "").toLowerCase().includes(q);
      });
      const seen = new Set(local.map(function (c) { return c.id; }));
      const extra = (serverRows || []).filter(function (c) { return !seen.has(c.id); });
      section(t("Search results"), local.concat(extra), box);
      if (!local.length && !extra.length) box.append(el("p", "m-muted", t("No matching category")));
      return;
    }
    const used = usage();
    const byId = new Map(all.map(function (c) { return [c.id, c]; }));
    const ids = Object.keys(used).map(Number).filter(function (id) { return byId.has(id); });
    const recent = ids.slice().sort(function (a, b) { return used[b].last - used[a].last; }).slice(0, 5);
    const frequent = ids.filter(function (id) { return recent.indexOf(id) < 0; })
      .sort(function (a, b) { return used[b].count - used[a].count; }).slice(0, 8);
    section(t("Recently used"), recent.map(function (id) { return byId.get(id); }), box);
    section(t("Frequently used"), frequent.map(function (id) { return byId.get(id); }), box);
    section(t("All categories"), all, box);
  }

  let searchTimer = null;
  $("category-search").addEventListener("input", function () {
    const query = this.value;
    renderCategoryLists(query);
    clearTimeout(searchTimer);
    if (!query.trim()) return;
    // The server matches the same names, codes and keywords (乱倒垃圾, 违建…); offline, the list above.
    searchTimer = setTimeout(async function () {
      try {
        const response = await GC.fetchWithTimeout(urls.categories + "?q=" + encodeURIComponent(query.trim()), {}, 10000);
        if (response.ok && $("category-search").value === query) renderCategoryLists(query, await response.json());
      } catch (e) { /* offline */ }
    }, 300);
  });

  $("category-button").addEventListener("click", function () {
    $("category-sheet").hidden = false;
    $("category-search").value = "";
    renderCategoryLists("");
    $("category-search").focus();
  });
  $("category-close").addEventListener("click", function () { $("category-sheet").hidden = true; });

  function choose(c) {
    state.category = c;
    $("category-sheet").hidden = true;
    const button = $("category-button");
    button.textContent = c.name + " (" + c.code + ") · " + c.big_class.name;
    button.dataset.id = String(c.id);
    renderAttributes(c.attribute_schema || {});
    checkDuplicates();
  }

  // --- attributes from the category's JSON Schema (number, integer, string, enum, boolean) --------
  function renderAttributes(schema) {
    const box = $("attrs");
    box.replaceChildren();
    const props = schema.properties || {};
    const required = schema.required || [];
    Object.keys(props).forEach(function (name) {
      const prop = props[name];
      const field = el("div", "m-field");
      const id = "attr-" + name;
      const label = el("label", required.indexOf(name) >= 0 ? "m-required" : null, prop.title || name);
      label.htmlFor = id;
      let input;
      if (Array.isArray(prop.enum)) {
        input = el("select");
        input.append(new Option(t("Choose"), ""));
        prop.enum.forEach(function (value, i) { input.append(new Option(enumLabel(prop, value, i), String(value))); });
      } else if (prop.type === "boolean") {
        input = el("select");
        [["", t("Choose")], ["true", t("Yes")], ["false", t("No")]].forEach(function (o) { input.append(new Option(o[1], o[0])); });
      } else {
        input = el("input");
        if (prop.type === "number" || prop.type === "integer") {
          input.type = "number";
          input.inputMode = prop.type === "integer" ? "numeric" : "decimal";
          input.step = prop.type === "integer" ? "1" : "any";
          const min = prop.minimum !== undefined ? prop.minimum : prop.exclusiveMinimum;
          if (min !== undefined) input.min = String(min);
          if (prop.maximum !== undefined) input.max = String(prop.maximum);
        } else {
          input.type = "text";
          if (prop.maxLength) input.maxLength = prop.maxLength;
        }
      }
      input.id = id;
      input.dataset.name = name;
      input.dataset.type = Array.isArray(prop.enum) ? "enum" : prop.type || "string";
      field.append(label, input);
      if (prop.description) field.append(el("p", "m-muted m-small", prop.description));
      box.append(field);
    });
    $("attrs-card").hidden = Object.keys(props).length === 0;
  }

  // The attributes as the schema wants them, or an error message naming the field.
  function readAttributes() {
    const schema = (state.category && state.category.attribute_schema) || {};
    const props = schema.properties || {};
    const required = schema.required || [];
    const values = {};
    for (const input of $("attrs").querySelectorAll("[data-name]")) {
      const name = input.dataset.name, prop = props[name] || {}, raw = input.value.trim(), title = prop.title || name;
      if (raw === "") {
        if (required.indexOf(name) >= 0) return { error: t("Fill in “%(field)s”", { field: title }) };
        continue;
      }
      if (input.dataset.type === "number" || input.dataset.type === "integer") {
        const n = Number(raw);
        if (!Number.isFinite(n) || (input.dataset.type === "integer" && !Number.isInteger(n))) return { error: t("“%(field)s” must be a number", { field: title }) };
        if (prop.exclusiveMinimum !== undefined && !(n > prop.exclusiveMinimum)) return { error: t("“%(field)s” must be more than %(n)s", { field: title, n: prop.exclusiveMinimum }) };
        if (prop.minimum !== undefined && n < prop.minimum) return { error: t("“%(field)s” must not be less than %(n)s", { field: title, n: prop.minimum }) };
        if (prop.maximum !== undefined && n > prop.maximum) return { error: t("“%(field)s” must not be more than %(n)s", { field: title, n: prop.maximum }) };
        values[name] = n;
      } else if (input.dataset.type === "boolean") {
        values[name] = raw === "true";
      } else if (input.dataset.type === "enum") {
        const match = (prop.enum || []).find(function (v) { return String(v) === raw; });
        values[name] = match === undefined ? raw : match;
      } else {
        values[name] = raw;
      }
    }
    return { values: values };
  }

  // --- possible duplicates before sending ----------------------------------------------------------
  let dupSeq = 0;
  async function checkDuplicates() {
    if (!state.category || !state.pos) return;
    const seq = ++dupSeq;
    try {
      const response = await GC.fetchWithTimeout(urls.nearby + "?category=" + state.category.id + "&lon=" + state.pos.lon + "&lat=" + state.pos.lat, {}, 10000);
      if (!response.ok || seq !== dupSeq) return;
      showDuplicates($("dups"), $("dup-list"), (await response.json()).results);
    } catch (e) { /* offline: the server answers with duplicates after sending */ }
  }

  function showDuplicates(card, list, rows) {
    list.replaceChildren();
    rows.forEach(function (d) {
      const li = el("li");
      li.append(el("div", "m-item-title", d.number + " · " + t("%(n)s m", { n: Math.round(d.distance_m) }) + " · " + UI.statusLabel(d.status)),
                el("div", "m-item-sub", (d.description || t("(no description)")) + " · " + UI.formatTime(d.reported_at)));
      list.append(li);
    });
    if (card) card.hidden = rows.length === 0;
  }

  // --- photos and self-handling ------------------------------------------------------------------
  const photos = UI.photoPicker($("photos"), $("photo-list"));
  $("self-handle").addEventListener("change", function () {
    $("photos-title").textContent = this.checked ? t("Photos after handling (required)") : t("Photos");
  });

  // --- submit: the outbox first, then the network -----------------------------------------------
  function fail(message) {
    const box = $("report-error");
    box.textContent = message;
    box.hidden = false;
    box.scrollIntoView({ block: "center" });
  }

  $("report-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    $("report-error").hidden = true;
    const me = await UI.me();
    if (!me) return fail(t("The signed-in account is not known yet: open the app once while online."));
    if (!state.pos) return fail(t("No location yet: wait for a position, or drag the pin on the map."));
    if (!state.category) return fail(t("Choose the category."));
    const attributes = readAttributes();
    if (attributes.error) return fail(attributes.error);
    const selfHandle = $("self-handle").checked;
    if (selfHandle && UI.action("self_handle").photos_required && !photos.list.length) {
      return fail(t("Self-handling needs at least one photo after handling."));
    }
    $("submit-report").disabled = true;
    const title = state.category.name + (state.grid ? " · " + state.grid.name : "");
    let item;
    try {
      item = await UI.enqueue("report", {
        owner: me.id, title: title, photos: photos.stored(),
        fields: {
          category: String(state.category.id), lon: state.pos.lon.toFixed(7), lat: state.pos.lat.toFixed(7),
          description: $("description").value.trim(), attributes: JSON.stringify(attributes.values),
          self_handle: selfHandle ? "true" : "false",
        },
      });
    } catch (e) {
      $("submit-report").disabled = false;
      return fail(t("Cannot save on the phone: %(message)s", { message: e.message }));
    }
    noteUsage(state.category.id);
    $("report-form").hidden = true;
    $("dups").hidden = true;
    const done = $("report-done");
    done.hidden = false;
    done.dataset.id = item.id;
    renderDone(item);
    window.scrollTo(0, 0);
  });

  function renderDone(item) {
    const done = $("report-done");
    done.dataset.state = item.state;
    if (item.state === "sent") {
      $("done-title").textContent = t("Reported, case number %(number)s", { number: item.result.number });
      $("done-text").textContent = item.title + " · " + UI.statusLabel(item.result.status);
      showDuplicates(null, $("done-dups"), item.result.duplicates || []);
      if ((item.result.duplicates || []).length) $("done-text").textContent += t(". Possible duplicates nearby; the acceptor will compare:");
    } else if (item.state === "rejected") {
      $("done-title").textContent = t("Not accepted");
      $("done-text").textContent = t("The server refused this report: %(message)s. Correct it and report again.", { message: item.message });
    } else {
      $("done-title").textContent = t("Saved on the phone");
      $("done-text").textContent = navigator.onLine ? t("Sending…") : t("Offline now: sent automatically when back online, never lost or sent twice.");
      if (item.message) $("done-text").textContent = item.message;
    }
  }

  document.addEventListener("gc:outbox", function (event) {
    const id = $("report-done").dataset.id;
    if (!id) return;
    const item = event.detail.items.find(function (i) { return i.id === id; });
    if (item) renderDone(item);
  });

  loadCategories();
})();
